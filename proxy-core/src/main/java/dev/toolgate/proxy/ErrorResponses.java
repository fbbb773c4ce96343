package dev.toolgate.proxy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

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
    /** ASCII-only output: a reason quoting what the client sent cannot smuggle anything into a log or a terminal. */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

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
        ObjectNode json = JSON.createObjectNode().put("error", error.code);
        if (code != null) {
            json.put("code", code);
        }
        json.put("reason", reason);
        if (route != null) {
            json.put("route", route);
        }
        if (decisionId != null) {
            json.put("decision_id", decisionId);
        }
        if (approvalId != null) {
            json.put("approval_id", approvalId);
        }
        if (traceId != null) {
            json.put("trace_id", traceId);
        }
        if (retryAfterSeconds > 0) {
            json.put("retry_after", retryAfterSeconds);
        }
        byte[] bytes = write(json);
        ByteBuf body = alloc.buffer(bytes.length).writeBytes(bytes);
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

    /** One line of JSON, ASCII only: reasons may quote what the client sent, so everything else is escaped. */
    static byte[] write(ObjectNode json) {
        try {
            byte[] line = JSON.writeValueAsBytes(json);
            byte[] out = Arrays.copyOf(line, line.length + 1);
            out[line.length] = '\n';
            return out;
        } catch (JsonProcessingException e) {
            // An ObjectNode of strings and numbers always serializes; failing here is a bug, never a client's doing.
            throw new IllegalStateException("cannot write an error answer", e);
        }
    }

    /**
     * A JSON body the sidecar made itself (a JSON-RPC answer, a task API answer), never cached; {@code close} adds
     * {@code Connection: close} (HTTP/1.1 only: the caller knows).
     */
    static FullHttpResponse json(ByteBufAllocator alloc, int status, byte[] json, boolean close) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                alloc.buffer(json.length).writeBytes(json));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, json.length)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        if (close) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return res;
    }
}
