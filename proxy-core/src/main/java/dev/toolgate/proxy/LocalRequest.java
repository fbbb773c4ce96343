package dev.toolgate.proxy;

import dev.toolgate.identity.SpiffeId;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;

/**
 * A request to one of the sidecar's own endpoints while its body is collected: copied out of Netty's buffers (it
 * is small and bounded by {@link TaskApi#MAX_BODY_BYTES}), so nothing reference-counted outlives the event loop's
 * turn. Not thread-safe: filled on the event loop, then handed to the task executor and no longer touched there.
 */
final class LocalRequest {
    private final SpiffeId agent;
    private final String method;
    private final String path;
    private final String query;
    private final String token;
    private ByteArrayOutputStream body = new ByteArrayOutputStream();

    LocalRequest(SpiffeId agent, String method, String path, String query, String token) {
        this.agent = agent;
        this.method = method;
        this.path = path;
        this.query = query;
        this.token = token;
    }

    /** Copies a body part; false once the body is larger than the limit (the part is not kept). */
    boolean add(ByteBuf part) {
        if (body == null || body.size() + part.readableBytes() > TaskApi.MAX_BODY_BYTES) {
            return false;
        }
        byte[] bytes = new byte[part.readableBytes()];
        part.getBytes(part.readerIndex(), bytes);
        body.writeBytes(bytes);
        return true;
    }

    SpiffeId agent() {
        return agent;
    }

    String method() {
        return method;
    }

    String path() {
        return path;
    }

    String query() {
        return query;
    }

    /** The {@code toolgate-task} header (a delegation's parent token), or null. */
    String token() {
        return token;
    }

    byte[] body() {
        return body == null ? new byte[0] : body.toByteArray();
    }

    /** Drops what was collected. */
    void release() {
        body = null;
    }
}
