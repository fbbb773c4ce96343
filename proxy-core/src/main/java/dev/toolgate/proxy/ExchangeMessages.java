package dev.toolgate.proxy;

import dev.toolgate.call.RequestTarget;
import dev.toolgate.call.RouteMatch;
import dev.toolgate.common.Protocol;
import dev.toolgate.telemetry.TraceParent;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.function.BiConsumer;

/**
 * Builds the messages an exchange sends on: the request for the upstream and the response for the agent. Each
 * is a new message with copied, filtered headers; bodies move without copying. Stateless.
 */
final class ExchangeMessages {
    private ExchangeMessages() {}

    /** The request for the upstream: normalized target, filtered headers, the sidecar's Host and traceparent. */
    static HttpRequest upstreamRequest(HttpRequest req, RouteMatch match, RequestTarget target, Upstream upstream,
                                       TraceParent trace) {
        String uri = target.query() == null ? match.upstreamPath() : match.upstreamPath() + '?' + target.query();
        HttpRequest out = new DefaultHttpRequest(HttpVersion.HTTP_1_1, req.method(), uri);
        HopByHop.copyRequest(req.headers(), out.headers());
        out.headers().set(HttpHeaderNames.HOST, upstream.config.authority());
        out.headers().set(HopByHop.TRACEPARENT, trace.header());
        if (upstream.config.http2()) {
            if (match.route().protocol() == Protocol.GRPC
                    || req.headers().containsValue(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS, true)) {
                out.headers().set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
            }
        } else if (!HttpUtil.isContentLengthSet(req) && HttpUtil.isTransferEncodingChunked(req)) {
            HttpUtil.setTransferEncodingChunked(out, true);
        }
        return out;
    }

    /**
     * How the agent's response is framed on HTTP/1.x. {@code keepAlive} is false for HTTP/1.0 agents, whose
     * responses end with the close when no length is known (HTTP/1.0 has no chunked coding).
     */
    record Framing(boolean http2, boolean http10, boolean headRequest, boolean keepAlive) {}

    /**
     * The response for the agent, with filtered headers and, on HTTP/1.x, its framing. A {@link FullHttpResponse}
     * stays full (its content moves over).
     */
    static HttpResponse agentResponse(HttpResponse res, Framing f) {
        HttpResponse out;
        if (res instanceof FullHttpResponse full) {
            FullHttpResponse copy = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, res.status(), full.content());
            HopByHop.copyResponse(full.trailingHeaders(), copy.trailingHeaders());
            out = copy;
        } else {
            out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, res.status());
        }
        HopByHop.copyResponse(res.headers(), out.headers());
        if (!f.http2()) {
            int code = res.status().code();
            boolean bodyless = f.headRequest() || code == 204 || code == 304;
            if (!bodyless && !HttpUtil.isContentLengthSet(out)) {
                if (out instanceof FullHttpResponse full && full.trailingHeaders().isEmpty()) {
                    HttpUtil.setContentLength(out, full.content().readableBytes());
                } else if (!f.http10()) {
                    HttpUtil.setTransferEncodingChunked(out, true);
                }
            }
            if (!f.keepAlive()) {
                out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
        }
        return out;
    }

    /** The last body part with its trailers passed through the request header rules (no credentials, no framing). */
    static LastHttpContent withSafeTrailers(LastHttpContent last) {
        return withTrailers(last, HopByHop::copyRequestTrailers);
    }

    /** The last response part with its trailers passed through the response header rules. */
    static LastHttpContent withSafeResponseTrailers(LastHttpContent last) {
        return withTrailers(last, HopByHop::copyResponse);
    }

    /** {@code last} itself when it has no trailers, else the same content with trailers copied by {@code rules}. */
    private static LastHttpContent withTrailers(LastHttpContent last, BiConsumer<HttpHeaders, HttpHeaders> rules) {
        if (last.trailingHeaders().isEmpty()) {
            return last;
        }
        LastHttpContent safe = new DefaultLastHttpContent(last.content());
        rules.accept(last.trailingHeaders(), safe.trailingHeaders());
        return safe;
    }
}
