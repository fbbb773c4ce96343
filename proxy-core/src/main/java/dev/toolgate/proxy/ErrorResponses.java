package dev.toolgate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The JSON answers the sidecar gives itself:
 * {@code {"error":...,"code":...,"reason":...,"route":...,"decision_id":...,"trace_id":...}}. {@code error} is
 * {@code toolgate_denied} for a call the authorizer refused (403) and says what went wrong otherwise
 * ({@code no_route}, {@code bad_request}, {@code upstream_timeout}, ...); {@code code} is the decision code of a
 * refused call (absent when the call was allowed and the upstream failed); the decision id names the call's audit
 * records.
 */
final class ErrorResponses {
    private ErrorResponses() {}

    static FullHttpResponse of(ByteBufAllocator alloc, ProxyError error, String code, String reason, String route,
                               String traceId, String decisionId, boolean close) {
        StringBuilder json = new StringBuilder(128).append("{\"error\":\"").append(error.code).append('"');
        if (code != null) {
            json.append(",\"code\":\"").append(code).append('"');
        }
        json.append(",\"reason\":");
        appendString(json, reason);
        if (route != null) {
            json.append(",\"route\":");
            appendString(json, route);
        }
        if (decisionId != null) {
            json.append(",\"decision_id\":\"").append(decisionId).append('"');
        }
        if (traceId != null) {
            json.append(",\"trace_id\":\"").append(traceId).append('"');
        }
        json.append("}\n");
        ByteBuf body = alloc.buffer(json.length());
        body.writeCharSequence(json, StandardCharsets.UTF_8);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, error.status, body);
        res.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        if (close) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return res;
    }

    /** Appends a JSON string literal; reasons may quote what the client sent, so everything is escaped. */
    static void appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
