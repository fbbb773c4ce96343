package dev.toolgate.proxy;

import dev.toolgate.call.HeaderNames;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Checks of a request head that decide whether it may be forwarded at all, beyond what the decoders enforce.
 * Each check returns {@code null} when the request passes, or the answer to give. Stateless.
 */
final class RequestChecks {

    /**
     * A refusal: the error and a reason the agent can read; {@code retryAfterSeconds} > 0 when the same request
     * will pass after that wait (a rate limit), sent as {@code Retry-After}.
     */
    record Refusal(ProxyError error, String reason, long retryAfterSeconds) {
        Refusal(ProxyError error, String reason) {
            this(error, reason, 0);
        }

        /**
         * Whether the connection must close after the answer: yes for anything about framing or parsing (the
         * rest of the connection cannot be trusted), no for a well-framed request that is merely refused.
         */
        boolean closes() {
            return error != ProxyError.METHOD_NOT_ALLOWED && error != ProxyError.EXPECTATION_FAILED
                    && error != ProxyError.NO_ROUTE;
        }
    }

    private RequestChecks() {}

    /** All head checks in order: decoder result, then common, then (HTTP/1.x) framing and expectation. */
    static Refusal head(HttpRequest req, boolean http2, long maxBodyBytes) {
        if (req.decoderResult().isFailure()) {
            return decoderFailure(req.decoderResult().cause());
        }
        Refusal r = common(req, maxBodyBytes);
        if (r == null && !http2) {
            r = http1(req);
            if (r == null) {
                r = expectation(req);
            }
        }
        return r;
    }

    /** Maps a decoder failure to its answer. */
    static Refusal decoderFailure(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            return new Refusal(ProxyError.URI_TOO_LONG, "request line too long");
        }
        if (cause instanceof TooLongHttpHeaderException) {
            return new Refusal(ProxyError.HEADERS_TOO_LARGE, "request headers too large");
        }
        String msg = cause.getMessage();
        return new Refusal(ProxyError.BAD_REQUEST, "malformed HTTP request: " + (msg == null ? cause : msg));
    }

    /** Maps a failure decoding the request body (chunk syntax, trailers) to its answer. */
    static Refusal bodyDecoderFailure(Throwable cause) {
        if (cause instanceof TooLongHttpHeaderException) {
            return new Refusal(ProxyError.HEADERS_TOO_LARGE, "request trailer headers too large");
        }
        String msg = cause.getMessage();
        return new Refusal(ProxyError.BAD_REQUEST, "malformed request body: " + (msg == null ? cause : msg));
    }

    /**
     * A trailer field the sidecar would not forward (framing, hop-by-hop, credentials, the task token, identity
     * assertions, the sidecar's own {@code x-toolgate-*}): RFC 9110 6.5.1 keeps such fields out of trailers, and a
     * body ending with one is refused as malformed rather than forwarded without it. {@code null} when none.
     */
    static Refusal trailers(HttpHeaders trailers) {
        if (trailers.isEmpty()) {
            return null;
        }
        Iterator<Map.Entry<CharSequence, CharSequence>> it = trailers.iteratorCharSequence();
        while (it.hasNext()) {
            CharSequence name = it.next().getKey();
            if (HopByHop.refusedInTrailer(name)) {
                return new Refusal(ProxyError.BAD_REQUEST, "malformed request body: trailer field '"
                        + HeaderNames.printable(name) + "' is not allowed (framing, hop-by-hop, credential and identity fields never cross)");
            }
        }
        return null;
    }

    /** Checks that apply to HTTP/1.1 and HTTP/2 requests alike. */
    static Refusal common(HttpRequest req, long maxBodyBytes) {
        HttpMethod method = req.method();
        String name = method.name();
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 'A' || c > 'Z') {
                return new Refusal(ProxyError.BAD_REQUEST, "method must be an upper-case token");
            }
        }
        if (method.equals(HttpMethod.CONNECT) || method.equals(HttpMethod.TRACE)) {
            return new Refusal(ProxyError.METHOD_NOT_ALLOWED, name + " is not supported");
        }
        List<String> lengths = req.headers().getAll(HttpHeaderNames.CONTENT_LENGTH);
        if (lengths.size() > 1) {
            return new Refusal(ProxyError.BAD_REQUEST, "more than one Content-Length");
        }
        if (lengths.size() == 1) {
            String v = lengths.get(0);
            if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return new Refusal(ProxyError.BAD_REQUEST, "Content-Length must be decimal digits");
            }
            if (Long.parseLong(v) > maxBodyBytes) {
                return new Refusal(ProxyError.BODY_TOO_LARGE, "body larger than " + maxBodyBytes + " bytes");
            }
        }
        return null;
    }

    /** Framing checks specific to HTTP/1.x. */
    static Refusal http1(HttpRequest req) {
        HttpVersion version = req.protocolVersion();
        if (!version.equals(HttpVersion.HTTP_1_1) && !version.equals(HttpVersion.HTTP_1_0)) {
            // Netty parses any HTTP/d.d; the Host and Transfer-Encoding rules below only know 1.0 and 1.1.
            return new Refusal(ProxyError.BAD_REQUEST,
                    "HTTP version " + version + " is not supported (expected: HTTP/1.0 or HTTP/1.1)");
        }
        HttpHeaders h = req.headers();
        List<String> hosts = h.getAll(HttpHeaderNames.HOST);
        if (req.protocolVersion().equals(HttpVersion.HTTP_1_1) && hosts.size() != 1 || hosts.size() > 1) {
            return new Refusal(ProxyError.BAD_REQUEST, "exactly one Host header is required");
        }
        List<String> te = h.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!te.isEmpty()) {
            if (!req.protocolVersion().equals(HttpVersion.HTTP_1_1)) {
                return new Refusal(ProxyError.BAD_REQUEST, "Transfer-Encoding is not allowed before HTTP/1.1");
            }
            if (te.size() != 1 || !HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(te.get(0).trim())) {
                return new Refusal(ProxyError.BAD_REQUEST, "Transfer-Encoding other than a single 'chunked'");
            }
        }
        return null;
    }

    /** {@code true} for {@code 100-continue}; a refusal for any other expectation. */
    static Refusal expectation(HttpRequest req) {
        String expect = req.headers().get(HttpHeaderNames.EXPECT);
        if (expect != null && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect.trim())) {
            return new Refusal(ProxyError.EXPECTATION_FAILED, "only 'Expect: 100-continue' is supported");
        }
        return null;
    }
}
