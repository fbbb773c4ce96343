package dev.toolgate.proxy;

import dev.toolgate.call.PathNormalizer;
import dev.toolgate.call.RejectedTargetException;
import dev.toolgate.call.RequestTarget;
import dev.toolgate.call.RouteMatch;
import dev.toolgate.telemetry.TraceParent;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards the agent's requests on one HTTP/1.1 connection or one HTTP/2 stream, one exchange at a time.
 *
 * <p>An exchange: check the head, normalize the target, match a route, borrow an upstream channel on this
 * event loop, then stream the request body up and the response down. Back-pressure both ways: the agent channel
 * is read one message at a time (a {@code FlowControlHandler} sits in front) and only while the upstream can take
 * more; the upstream is read only while the agent channel is writable. Nothing is buffered beyond one read.
 *
 * <p>Not thread-safe: every method runs on the channel's event loop.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter implements UpstreamListener {
    private static final Logger log = LoggerFactory.getLogger(FrontendHandler.class);

    private enum State { IDLE, CONNECTING, FORWARDING, DISCARDING, CLOSED }

    private final ProxyRuntime rt;
    private final boolean http2;
    private ChannelHandlerContext ctx;
    private boolean started;
    private boolean agentReadOutstanding;
    private State state = State.IDLE;
    /** A pipelined HTTP/1.1 request that arrived before the previous response finished. */
    private Object parked;

    // The current exchange.
    private String routeName;
    private TraceParent trace;
    private Upstream upstream;
    private Channel upstreamCh;
    private HttpRequest outbound;
    private LastHttpContent pendingBody;
    private boolean keepAlive;
    private boolean http10;
    private boolean headRequest;
    private boolean expectContinue;
    private boolean requestDone;
    private boolean responseStarted;
    private boolean responseDone;
    private boolean upstreamReusable;
    private boolean agentReadPending;
    private boolean upstreamReadPending;
    private long bodyBytes;
    private ScheduledFuture<?> responseTimer;
    private ChannelFuture lastWrite;

    FrontendHandler(ProxyRuntime rt, boolean http2) {
        this.rt = rt;
        this.http2 = http2;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        firstRead();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        firstRead();
        ctx.fireChannelActive();
    }

    /** Exactly one read starts the first exchange; after that every read is asked for by the exchange. */
    private void firstRead() {
        if (!started && ctx.channel().isActive()) {
            started = true;
            readAgentNow();
        }
    }

    /**
     * Asks for exactly one more message from the agent. A read cycle that ends without a message (a partial
     * request, a TLS record with no HTTP in it) satisfies the read too, so {@link #channelReadComplete} asks again.
     */
    private void readAgentNow() {
        agentReadOutstanding = true;
        ctx.read();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (agentReadOutstanding && state != State.CLOSED) {
            ctx.read();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        agentReadOutstanding = false;
        if (msg instanceof HttpRequest req) {
            if (state == State.IDLE) {
                start(req);
            } else if (parked == null && !http2 && state != State.CLOSED) {
                parked = req;
            } else {
                ReferenceCountUtil.release(msg);
                ctx.close();
            }
        } else if (msg instanceof HttpContent content) {
            onAgentContent(content);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    // ---- request side ------------------------------------------------------------------------------------

    private void start(HttpRequest req) {
        log.debug("[{}] {} {}", ctx.channel().id(), req.method(), req.uri());
        resetExchange();
        trace = TraceParent.continueOrStart(req.headers().get(HopByHop.TRACEPARENT));
        http10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
        keepAlive = !http2 && HttpUtil.isKeepAlive(req) && !http10;
        headRequest = req.method().equals(HttpMethod.HEAD);
        boolean full = req instanceof FullHttpRequest;
        requestDone = full;
        try {
            if (req.decoderResult().isFailure()) {
                RequestChecks.Refusal r = RequestChecks.decoderFailure(req.decoderResult().cause());
                refuse(r, true);
                return;
            }
            RequestChecks.Refusal r = RequestChecks.common(req, rt.limits().maxBodyBytes());
            if (r == null && !http2) {
                r = RequestChecks.http1(req);
                if (r == null) {
                    r = RequestChecks.expectation(req);
                }
            }
            if (r != null) {
                // A framing problem means the rest of the connection cannot be trusted: close it.
                refuse(r, r.error() != ProxyError.METHOD_NOT_ALLOWED && r.error() != ProxyError.EXPECTATION_FAILED);
                return;
            }
            RequestTarget target;
            try {
                target = PathNormalizer.normalize(req.uri());
            } catch (RejectedTargetException e) {
                refuse(new RequestChecks.Refusal(ProxyError.BAD_REQUEST, "refused request target: " + e.getMessage()),
                        false);
                return;
            }
            RouteMatch match = rt.routes().match(target.path());
            if (match == null) {
                refuse(new RequestChecks.Refusal(ProxyError.NO_ROUTE, "no route for " + target.path()), false);
                return;
            }
            routeName = match.route().name();
            upstream = rt.upstreams().get(routeName);
            expectContinue = !http2 && req.headers().contains(HttpHeaderNames.EXPECT);
            outbound = upstreamRequest(req, match, target);
            if (full) {
                FullHttpRequest f = (FullHttpRequest) req;
                // The body moves on with the exchange; it is forwarded once the upstream channel is there.
                pendingBody = withSafeTrailers(new DefaultLastHttpContent(f.content().retain(), f.trailingHeaders()));
                bodyBytes = f.content().readableBytes();
            }
            state = State.CONNECTING;
            upstream.acquire(ctx.channel().eventLoop()).addListener(this::onAcquired);
        } finally {
            ReferenceCountUtil.release(req);
        }
    }

    private HttpRequest upstreamRequest(HttpRequest req, RouteMatch match, RequestTarget target) {
        String uri = target.query() == null ? match.upstreamPath() : match.upstreamPath() + '?' + target.query();
        HttpRequest out = new DefaultHttpRequest(HttpVersion.HTTP_1_1, req.method(), uri);
        HopByHop.copyRequest(req.headers(), out.headers());
        out.headers().set(HttpHeaderNames.HOST, upstream.config.authority());
        out.headers().set(HopByHop.TRACEPARENT, trace.header());
        if (upstream.config.http2()) {
            if (match.route().protocol().equals("grpc")
                    || req.headers().containsValue(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS, true)) {
                out.headers().set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
            }
        } else if (!HttpUtil.isContentLengthSet(req) && HttpUtil.isTransferEncodingChunked(req)) {
            HttpUtil.setTransferEncodingChunked(out, true);
        }
        return out;
    }

    private void onAcquired(Future<? super Channel> f) {
        if (state != State.CONNECTING) {
            if (f.isSuccess()) {
                upstream.release((Channel) f.getNow(), true);
            }
            return;
        }
        if (!f.isSuccess()) {
            UpstreamException ue = Upstream.classify(f.cause(), upstream.config);
            log.debug("[{}] route {}: {}", ctx.channel().id(), routeName, ue.getMessage());
            refuse(new RequestChecks.Refusal(ue.error, ue.getMessage()), false);
            return;
        }
        upstreamCh = (Channel) f.getNow();
        upstreamCh.pipeline().get(BackendHandler.class).attach(this);
        state = State.FORWARDING;
        if (expectContinue) {
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE),
                    ctx.voidPromise());
        }
        Channel up = upstreamCh;
        up.write(outbound, up.voidPromise());
        outbound = null;
        up.read(); // from now on, wait for the response
        LastHttpContent body = pendingBody;
        pendingBody = null;
        if (body != null) {
            up.writeAndFlush(body, up.voidPromise());
            startResponseTimer();
        } else {
            up.flush();
            // Last: reading may deliver the next body part at once, which can end the exchange.
            readAgent();
        }
    }

    private void onAgentContent(HttpContent content) {
        if (content.decoderResult().isFailure()) {
            // A body Netty could not frame (bad chunk line, oversize trailers): the request must not look complete
            // upstream, and nothing after it on this connection can be trusted.
            RequestChecks.Refusal r = RequestChecks.bodyDecoderFailure(content.decoderResult().cause());
            content.release();
            if (responseStarted || state == State.DISCARDING || state == State.CLOSED) {
                abort();
            } else {
                refuse(r, true);
            }
            return;
        }
        switch (state) {
            case FORWARDING -> forwardBody(content);
            case DISCARDING -> {
                boolean last = content instanceof LastHttpContent;
                content.release();
                if (last) {
                    requestDone = true;
                    finishExchange();
                } else {
                    readAgentNow();
                }
            }
            case CONNECTING -> {
                // Body is only read once the upstream is there; getting some now means the read discipline broke.
                // Dropping it silently would corrupt the request, so the connection ends instead.
                content.release();
                log.warn("[{}] request body arrived before the upstream was ready; closing", ctx.channel().id());
                abort();
            }
            default -> content.release();
        }
    }

    private void forwardBody(HttpContent content) {
        bodyBytes += content.content().readableBytes();
        boolean last = content instanceof LastHttpContent;
        if (bodyBytes > rt.limits().maxBodyBytes()) {
            content.release();
            requestDone = last;
            if (responseStarted) {
                abort();
            } else {
                refuse(new RequestChecks.Refusal(ProxyError.BODY_TOO_LARGE,
                        "body larger than " + rt.limits().maxBodyBytes() + " bytes"), true);
            }
            return;
        }
        if (responseDone) {
            // The upstream already answered in full; the rest of the body has nowhere to go.
            content.release();
            if (last) {
                requestDone = true;
                finishExchange();
            } else {
                readAgentNow();
            }
            return;
        }
        upstreamCh.writeAndFlush(last ? withSafeTrailers((LastHttpContent) content) : content,
                upstreamCh.voidPromise());
        if (last) {
            requestDone = true;
            if (!responseStarted) {
                startResponseTimer();
            }
        } else {
            readAgent();
        }
    }

    /** The last body part with its trailers passed through the request header rules (no credentials, no framing). */
    private static LastHttpContent withSafeTrailers(LastHttpContent last) {
        if (last.trailingHeaders().isEmpty()) {
            return last;
        }
        LastHttpContent safe = new DefaultLastHttpContent(last.content());
        HopByHop.copyRequestTrailers(last.trailingHeaders(), safe.trailingHeaders());
        return safe;
    }

    private void readAgent() {
        if (upstreamCh.isWritable()) {
            readAgentNow();
        } else {
            agentReadPending = true;
        }
    }

    @Override
    public void onUpstreamWritable() {
        if (agentReadPending && state == State.FORWARDING) {
            agentReadPending = false;
            readAgentNow();
        }
    }

    // ---- response side -----------------------------------------------------------------------------------

    @Override
    public void onUpstreamMessage(HttpObject msg) {
        if (state != State.FORWARDING) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpResponse res) {
            if (res.decoderResult().isFailure() || responseStarted) {
                ReferenceCountUtil.release(msg);
                upstreamFailed(ProxyError.UPSTREAM_BAD_RESPONSE, "malformed response from the upstream");
                return;
            }
            if (res.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
                ReferenceCountUtil.release(msg);
                if (res.status().code() == 101) {
                    upstreamFailed(ProxyError.UPSTREAM_BAD_RESPONSE, "upstream switched protocols unasked");
                }
                return;
            }
            cancelResponseTimer();
            responseStarted = true;
            upstreamReusable = HttpUtil.isKeepAlive(res);
            HttpResponse out = agentResponse(res);
            if (out instanceof LastHttpContent) {
                responseDone = true;
                lastWrite = ctx.writeAndFlush(out);
                maybeComplete();
            } else {
                ctx.writeAndFlush(out, ctx.voidPromise());
            }
            return;
        }
        HttpContent content = (HttpContent) msg;
        if (!responseStarted) {
            content.release();
            upstreamFailed(ProxyError.UPSTREAM_BAD_RESPONSE, "body before response head");
            return;
        }
        if (content instanceof LastHttpContent) {
            responseDone = true;
            lastWrite = ctx.writeAndFlush(content);
            maybeComplete();
        } else {
            ctx.writeAndFlush(content, ctx.voidPromise());
        }
    }

    /**
     * One upstream read per read cycle, and only while the agent can take more: a cycle may deliver many
     * messages, and asking per message would keep reading after the agent side filled up.
     */
    @Override
    public void onUpstreamReadComplete() {
        if (state == State.FORWARDING && !responseDone && upstreamCh != null) {
            readUpstream();
        }
    }

    private HttpResponse agentResponse(HttpResponse res) {
        HttpResponse out;
        if (res instanceof FullHttpResponse full) {
            FullHttpResponse f = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, res.status(), full.content());
            f.trailingHeaders().set(full.trailingHeaders());
            out = f;
        } else {
            out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, res.status());
        }
        HopByHop.copyResponse(res.headers(), out.headers());
        if (!http2) {
            int code = res.status().code();
            boolean bodyless = headRequest || code == 204 || code == 304;
            if (!bodyless && !HttpUtil.isContentLengthSet(out)) {
                if (out instanceof FullHttpResponse f && f.trailingHeaders().isEmpty()) {
                    HttpUtil.setContentLength(out, f.content().readableBytes());
                } else if (http10) {
                    keepAlive = false; // HTTP/1.0 has no chunked coding: the close ends the body
                } else {
                    HttpUtil.setTransferEncodingChunked(out, true);
                }
            }
            if (!keepAlive) {
                out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
        }
        return out;
    }

    private void readUpstream() {
        if (ctx.channel().isWritable()) {
            upstreamCh.read();
        } else {
            upstreamReadPending = true;
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (upstreamReadPending && ctx.channel().isWritable() && upstreamCh != null) {
            upstreamReadPending = false;
            upstreamCh.read();
        }
        ctx.fireChannelWritabilityChanged();
    }

    private void maybeComplete() {
        if (!requestDone) {
            // The upstream answered before the body ended (e.g. an early 413 or a gRPC status): the upstream
            // connection is out of step and is closed; on HTTP/1.1 the rest of the body is read and dropped.
            releaseUpstream(false);
            if (http2) {
                closeAfterLastWrite();
                state = State.CLOSED;
            } else {
                state = State.DISCARDING;
                readAgentNow();
            }
            return;
        }
        releaseUpstream(upstreamReusable);
        finishExchange();
    }

    private void finishExchange() {
        cancelResponseTimer();
        if (http2) {
            state = State.CLOSED;
            return;
        }
        if (!keepAlive) {
            state = State.CLOSED;
            closeAfterLastWrite();
            return;
        }
        state = State.IDLE;
        Object next = parked;
        parked = null;
        if (next != null) {
            channelRead(ctx, next);
        } else {
            readAgentNow();
        }
    }

    // ---- failures ----------------------------------------------------------------------------------------

    @Override
    public void onUpstreamClosed() {
        upstreamCh = null;
        if (state != State.FORWARDING || responseDone) {
            return;
        }
        if (responseStarted) {
            log.debug("[{}] route {}: upstream closed mid-response", ctx.channel().id(), routeName);
            abort();
        } else {
            upstreamFailed(ProxyError.UPSTREAM_RESET, "upstream closed the connection before responding");
        }
    }

    private void upstreamFailed(ProxyError error, String reason) {
        log.debug("[{}] route {}: {}", ctx.channel().id(), routeName, reason);
        if (responseStarted) {
            abort();
        } else {
            refuse(new RequestChecks.Refusal(error, reason), false);
        }
    }

    private void startResponseTimer() {
        long ms = upstream.timeouts.response().toMillis();
        responseTimer = ctx.executor().schedule(() -> {
            responseTimer = null;
            if (state == State.FORWARDING && !responseStarted) {
                upstreamFailed(ProxyError.UPSTREAM_TIMEOUT,
                        "no response from " + upstream.config.authority() + " within " + ms + " ms");
            }
        }, ms, TimeUnit.MILLISECONDS);
    }

    private void cancelResponseTimer() {
        if (responseTimer != null) {
            responseTimer.cancel(false);
            responseTimer = null;
        }
    }

    /**
     * Answers the current request with a JSON error. {@code close} ends the connection (HTTP/1.1) or stream
     * (HTTP/2) after the answer; otherwise an unread HTTP/1.1 body is read and dropped so the connection stays
     * usable.
     */
    private void refuse(RequestChecks.Refusal r, boolean close) {
        cancelResponseTimer();
        releaseUpstream(false);
        if (pendingBody != null) {
            pendingBody.release();
            pendingBody = null;
        }
        responseStarted = true;
        responseDone = true;
        boolean closeAfter = close || !keepAlive || http2 && !requestDone;
        FullHttpResponse res = ErrorResponses.of(ctx.alloc(), r.error(), r.reason(), routeName,
                trace == null ? null : trace.traceId(), closeAfter && !http2);
        lastWrite = ctx.writeAndFlush(res);
        if (closeAfter) {
            state = State.CLOSED;
            closeAfterLastWrite();
        } else if (requestDone) {
            finishExchange();
        } else {
            state = State.DISCARDING;
            readAgentNow();
        }
    }

    /** Ends a broken exchange: closes the upstream and the agent connection (HTTP/1.1) or stream (HTTP/2). */
    private void abort() {
        cancelResponseTimer();
        releaseUpstream(false);
        state = State.CLOSED;
        ctx.close();
    }

    private void closeAfterLastWrite() {
        if (lastWrite != null) {
            lastWrite.addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.close();
        }
    }

    private void releaseUpstream(boolean reusable) {
        Channel ch = upstreamCh;
        upstreamCh = null;
        if (ch != null) {
            upstream.release(ch, reusable && requestDone && responseDone);
        }
    }

    private void resetExchange() {
        routeName = null;
        upstream = null;
        outbound = null;
        requestDone = false;
        responseStarted = false;
        responseDone = false;
        upstreamReusable = false;
        agentReadPending = false;
        upstreamReadPending = false;
        expectContinue = false;
        bodyBytes = 0;
        lastWrite = null;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = State.CLOSED;
        cancelResponseTimer();
        releaseUpstream(false);
        if (pendingBody != null) {
            pendingBody.release();
            pendingBody = null;
        }
        if (parked != null) {
            ReferenceCountUtil.release(parked);
            parked = null;
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("[{}] agent channel error, closing: {}", ctx.channel().id(), cause.toString());
        ctx.close();
    }
}
