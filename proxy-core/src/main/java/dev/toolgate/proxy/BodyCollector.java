package dev.toolgate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;

/**
 * A request body held back until the decision needs it (an MCP POST is judged by its JSON-RPC messages), bounded
 * by a limit. The parts are kept as they arrived (no copy) so the very bytes judged are the bytes forwarded. Not
 * thread-safe: used on the exchange's event loop; {@link #release} is idempotent.
 */
final class BodyCollector {
    private final int limit;
    private CompositeByteBuf body;

    BodyCollector(ByteBufAllocator alloc, int limit) {
        this.limit = limit;
        this.body = alloc.compositeBuffer(Integer.MAX_VALUE);
    }

    /** Keeps {@code part} (retained; the caller still releases its own reference); false once over the limit. */
    boolean add(ByteBuf part) {
        if (body.readableBytes() + (long) part.readableBytes() > limit) {
            return false;
        }
        if (part.isReadable()) {
            body.addComponent(true, part.retain());
        }
        return true;
    }

    /** A copy of the body so far, for parsing. */
    byte[] bytes() {
        return ByteBufUtil.getBytes(body);
    }

    int limit() {
        return limit;
    }

    int size() {
        return body.readableBytes();
    }

    /** Hands the body over (the caller now owns it); the collector is empty afterwards. */
    ByteBuf take() {
        ByteBuf b = body;
        body = null;
        return b;
    }

    void release() {
        if (body != null) {
            body.release();
            body = null;
        }
    }
}
