package dev.toolgate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The JSON answers the sidecar gives itself:
 * {@code {"error":...,"code":...,"reason":...,"route":...,"decision_id":...,"trace_id":...}} (plus
 * {@code approval_id} for a call that waits for, or was refused by, an approval, and {@code retry_after} for a rate
 * limit). {@code error} is {@code toolgate_denied} for a call the authorizer refused (403; 429 with
 * {@code Retry-After} for a rate limit) and says what went wrong otherwise
 * ({@code no_route}, {@code bad_request}, {@code upstream_timeout}, ...); {@code code} is the decision code of a
 * refused call (absent when the call was allowed and the upstream failed); the decision id names the call's audit
 * records.
 */
final class ErrorResponses {
    private ErrorResponses() {}

    static FullHttpResponse of(ByteBufAllocator alloc, ProxyError error, String code, String reason, String route,
                               String traceId, String decisionId, boolean close) {
        return of(alloc, error, code, reason, route, traceId, decisionId, null, 0, close);
    }

    /**
     * ... with {@code approval_id} after {@code decision_id} (the approval a {@code PENDING_APPROVAL} call waits for,
     * or the one a person denied; null: none) and, when {@code retryAfterSeconds} > 0, a {@code Retry-After} header
     * and a {@code retry_after} field (seconds) saying when the same request will pass.
     */
    static FullHttpResponse of(ByteBufAllocator alloc, ProxyError error, String code, String reason, String route,
                               String traceId, String decisionId, String approvalId, long retryAfterSeconds,
                               boolean close) {
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
        if (approvalId != null) {
            json.append(",\"approval_id\":");
            appendString(json, approvalId);
        }
        if (traceId != null) {
            json.append(",\"trace_id\":\"").append(traceId).append('"');
        }
        if (retryAfterSeconds > 0) {
            json.append(",\"retry_after\":").append(retryAfterSeconds);
        }
        json.append("}\n");
        ByteBuf body = alloc.buffer(json.length());
        body.writeCharSequence(json, StandardCharsets.UTF_8);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, error.status, body);
        res.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        if (retryAfterSeconds > 0) {
            res.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(retryAfterSeconds));
        }
        if (close) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        if (error.challenge != null) {
            res.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, error.challenge);
        }
        return res;
    }

    /**
     * The same answer in gRPC's own form, for a gRPC client: HTTP 200, trailers only, {@code grpc-status} mapped
     * from the error (a denial is {@code PERMISSION_DENIED}) and {@code grpc-message} = {@code CODE: reason}
     * (percent-encoded as gRPC requires); the decision id rides in {@code toolgate-decision-id}.
     */
    static FullHttpResponse grpc(ByteBufAllocator alloc, ProxyError error, String code, String reason,
                                 String decisionId) {
        return grpc(alloc, error, code, reason, decisionId, null);
    }

    /**
     * ... and the approval a {@code PENDING_APPROVAL} call waits for (or a person denied) in
     * {@code toolgate-approval-id}; the reason in {@code grpc-message} names it too.
     */
    static FullHttpResponse grpc(ByteBufAllocator alloc, ProxyError error, String code, String reason,
                                 String decisionId, String approvalId) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                alloc.buffer(0));
        String message = code == null ? error.code + ": " + reason : code + ": " + reason;
        res.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "application/grpc")
                .set("grpc-status", Integer.toString(grpcStatus(error)))
                .set("grpc-message", percentEncode(message));
        if (decisionId != null) {
            res.headers().set("toolgate-decision-id", decisionId);
        }
        if (approvalId != null) {
            res.headers().set("toolgate-approval-id", approvalId);
        }
        return res;
    }

    /** gRPC status codes (grpc/doc/statuscodes.md) for the sidecar's own answers. */
    static int grpcStatus(ProxyError error) {
        return switch (error) {
            case DENIED, RATE_LIMITED -> 7; // PERMISSION_DENIED, as DESIGN.md fixes for every denial
            case UNAUTHENTICATED, INVALID_TOKEN -> 16; // UNAUTHENTICATED
            case BAD_REQUEST, METHOD_NOT_ALLOWED, EXPECTATION_FAILED -> 3; // INVALID_ARGUMENT
            case NO_ROUTE -> 12; // UNIMPLEMENTED
            case URI_TOO_LONG, HEADERS_TOO_LARGE, BODY_TOO_LARGE -> 8; // RESOURCE_EXHAUSTED
            case UPSTREAM_CONNECT_TIMEOUT, UPSTREAM_TIMEOUT -> 4; // DEADLINE_EXCEEDED
            default -> 14; // UNAVAILABLE: upstream failures, fail closed
        };
    }

    /** Percent-encodes as gRPC's grpc-message wants: printable ASCII except '%' stays, the rest is %XX of UTF-8. */
    static String percentEncode(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 0x20 && c <= 0x7e && c != '%') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return sb.toString();
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
