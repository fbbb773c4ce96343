package dev.toolgate.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The request every connection of a run sends: path, authority, content type, the extra headers of
 * {@code --header} and one shared read-only body. Thread-safe: the body is only ever sent as a retained duplicate,
 * and the header arrays are never modified.
 */
final class Requests {
    static final String GRPC_PATH = "/grpc.testing.SimpleService/UnaryRpc";

    final String path;
    final String authority;
    final String contentType;
    final boolean grpc;
    /** Extra header names (lower case) and values, same index; built once so a request only copies references. */
    final AsciiString[] headerNames;
    final AsciiString[] headerValues;
    private final ByteBuf body;

    private Requests(String path, String authority, String contentType, boolean grpc, byte[] body,
                     List<LoadOptions.Header> headers) {
        this.path = path;
        this.authority = authority;
        this.contentType = contentType;
        this.grpc = grpc;
        this.headerNames = new AsciiString[headers.size()];
        this.headerValues = new AsciiString[headers.size()];
        for (int i = 0; i < headers.size(); i++) {
            headerNames[i] = AsciiString.cached(headers.get(i).name());
            headerValues[i] = new AsciiString(headers.get(i).value());
        }
        // heap and unreleasable: shared by every request and never tracked as a leak
        this.body = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(body).asReadOnly());
    }

    static Requests of(LoadOptions o) {
        String authority = o.target().getHost() + ':' + o.port();
        return switch (o.payload()) {
            case BYTES -> new Requests(o.pathAndQuery(), authority, "application/octet-stream", false,
                    bytes(o.bodyBytes()), o.headers());
            case MCP -> new Requests(o.pathAndQuery(), authority, "application/json", false,
                    mcpToolsCall(o.bodyBytes()), o.headers());
            case GRPC -> new Requests(GRPC_PATH, authority, "application/grpc", true, grpcSimpleRequest(o.bodyBytes()),
                    o.headers());
        };
    }

    ByteBuf body() {
        return body.duplicate();
    }

    int bodyLength() {
        return body.readableBytes();
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('a' + i % 26);
        }
        return b;
    }

    /** A JSON-RPC 2.0 MCP {@code tools/call} whose argument is padded so the whole body is {@code size} bytes. */
    static byte[] mcpToolsCall(int size) {
        String head = "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues\","
                + "\"arguments\":{\"repo\":\"toolgate/toolgate\",\"query\":\"";
        String tail = "\"}}}";
        int pad = Math.max(0, size - head.length() - tail.length());
        return (head + "x".repeat(pad) + tail).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A gRPC length-prefixed message holding {@code grpc.testing.SimpleRequest{request_message = 'x' * n}},
     * encoded by hand (field 1, length-delimited) so the client needs no protobuf runtime.
     */
    static byte[] grpcSimpleRequest(int n) {
        byte[] len = varint(n);
        int msgLen = 1 + len.length + n;
        byte[] out = new byte[5 + msgLen];
        out[1] = (byte) (msgLen >>> 24);
        out[2] = (byte) (msgLen >>> 16);
        out[3] = (byte) (msgLen >>> 8);
        out[4] = (byte) msgLen;
        out[5] = 0x0A;
        System.arraycopy(len, 0, out, 6, len.length);
        for (int i = 6 + len.length; i < out.length; i++) {
            out[i] = 'x';
        }
        return out;
    }

    private static byte[] varint(int v) {
        byte[] tmp = new byte[5];
        int i = 0;
        while ((v & ~0x7F) != 0) {
            tmp[i++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        tmp[i++] = (byte) v;
        byte[] out = new byte[i];
        System.arraycopy(tmp, 0, out, 0, i);
        return out;
    }
}
