package dev.toolgate.proxy;

import dev.toolgate.admission.Step;
import dev.toolgate.mcp.ToolsList;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The request leg of one admitted call: borrows a channel of the route's upstream on the agent's event loop, sends
 * the head (with the credential set on it) and the body, and watches for the answer's head in time. Back-pressure:
 * the agent side is read one message at a time and only while the upstream can take more. What comes back is the
 * {@link ResponseRelay}'s.
 *
 * <p>Not thread-safe: used on the exchange's event loop only.
 */
final class UpstreamRelay {
    private static final Logger log = LoggerFactory.getLogger(UpstreamRelay.class);
    /** Largest tools/list answer read (and, on a filtering route, passed on). */
    static final int TOOLS_LIST_MAX_BYTES = 8 << 20;

    private final Exchange ex;
    private final Step.Admitted admitted;
    private final Upstream upstream;
    private final boolean expectContinue;
    /** The answer leg: what comes back from the upstream. */
    final ResponseRelay answer;
    private HttpRequest outbound;
    private LastHttpContent pendingBody;
    private Channel upstreamCh;
    /** The response timer until the response head, then the body idle timer (one at a time). */
    private ScheduledFuture<?> responseTimer;
    /** When the upstream last delivered a body part, or was last asked to after a pause (nanoTime). */
    private long lastUpstreamActivity;
    /** When {@link #responseTimer} fires ({@code nanoTime}). */
    private long timerAt;
    /** The response head came: the timer watches the body's idle time, no longer the head's wait. */
    private boolean bodyPhase;
    private boolean agentReadPending;
    private boolean headUnflushed;
    /** What a held body that went streaming had collected: sent right after the head. */
    private HttpContent prefix;
    /**
     * A body part the agent sent while the upstream channel was being borrowed, once a held body went streaming;
     * {@link #earlyExpected} while a read for it is outstanding and it has not come yet.
     */
    private HttpContent early;
    private boolean earlyExpected;
    /** An HTTP/2 agent's declared {@code content-length}, or -1 (an HTTP/1.1 body's length frames itself). */
    private long declaredLength = -1;
    /** The part that reached the declared length, held until the stream's end confirms the body is complete. */
    private HttpContent withheld;

    /** A call judged by its head: the body (if any) streams after the head. */
    UpstreamRelay(Exchange ex, Step.Admitted admitted, HttpRequest req) {
        this(ex, admitted, !ex.http2 && req.headers().contains(HttpHeaderNames.EXPECT),
                ExchangeMessages.upstreamRequest(req, admitted.match(), admitted.target(),
                        ex.rt.upstreams().get(admitted.route()), ex.trace));
        if (ex.http2) {
            declaredLength = HttpUtil.getContentLength(req, -1L);
        }
    }

    /** A call judged by its body (an MCP POST): the collected body goes in one piece with its length. */
    UpstreamRelay(Exchange ex, Step.Admitted admitted, HttpRequest outbound, ByteBuf body) {
        this(ex, admitted, false, outbound);
        outbound.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        HttpUtil.setContentLength(outbound, body.readableBytes());
        this.pendingBody = new DefaultLastHttpContent(body);
    }

    private UpstreamRelay(Exchange ex, Step.Admitted admitted, boolean expectContinue, HttpRequest outbound) {
        this.ex = ex;
        this.admitted = admitted;
        this.upstream = ex.rt.upstreams().get(admitted.route());
        this.expectContinue = expectContinue;
        this.outbound = outbound;
        if (admitted.match().route().identityHeaders()) {
            SidecarHeaders.set(outbound.headers(), admitted.allow().task().task(), ex.audit.decisionId);
        }
        ToolsList watched = admitted.toolsList();
        this.answer = new ResponseRelay(ex, this, admitted, watched == null ? null
                : new ToolsListTap(watched, ex.ctx.alloc(), TOOLS_LIST_MAX_BYTES, ex.http2));
    }

    /** The whole body came with the head: it moves on with the exchange and goes once the channel is there. */
    void bodyInFull(FullHttpRequest full) {
        pendingBody = ExchangeMessages.withSafeTrailers(
                new DefaultLastHttpContent(full.content().retain(), full.trailingHeaders()));
        ex.body.count(full.content().readableBytes());
    }

    /** A held body checked whole: it goes with the head, its trailer fields through the request rules. */
    void bodyChecked(ByteBuf body, HttpHeaders trailers) {
        LastHttpContent last = new DefaultLastHttpContent(body);
        if (trailers != null && !trailers.isEmpty()) {
            last.trailingHeaders().set(trailers);
        }
        pendingBody = ExchangeMessages.withSafeTrailers(last);
    }

    /**
     * A held body goes on streaming: {@code held} (what was collected; taken over) right after the head, then
     * {@code next} when the agent's next part is already here, else the part the outstanding read brings.
     */
    void streamAfter(ByteBuf held, HttpContent next) {
        if (held.isReadable()) {
            prefix = new DefaultHttpContent(held);
        } else {
            held.release();
        }
        early = next;
        earlyExpected = next == null;
    }

    /** Takes the part a held body's outstanding read brought before the upstream channel was there. */
    boolean takeEarly(HttpContent content) {
        if (!earlyExpected) {
            return false;
        }
        earlyExpected = false;
        early = content;
        return true;
    }

    /** The upstream request's headers (the credential is set here). */
    HttpHeaders outboundHeaders() {
        return outbound.headers();
    }

    /** The borrowed upstream channel, or null (not yet there, or given back). */
    Channel channel() {
        return upstreamCh;
    }

    /** The upstream closed its channel. */
    void channelClosed() {
        upstreamCh = null;
    }

    /** Borrows an upstream channel on this event loop; the call goes once it is there. */
    void connect() {
        upstream.acquire(ex.ctx.channel().eventLoop()).addListener(this::onAcquired);
    }

    private void onAcquired(Future<? super Channel> f) {
        if (ex.state != Exchange.State.CONNECTING) {
            if (f.isSuccess()) {
                upstream.release((Channel) f.getNow(), true);
            }
            return;
        }
        if (!f.isSuccess()) {
            UpstreamException ue = Upstream.classify(f.cause(), upstream.config);
            log.debug("[{}] route {}: {}", ex.ctx.channel().id(), admitted.route(), ue.getMessage());
            ex.refuse(new RequestChecks.Refusal(ue.error, ue.getMessage()), false);
            return;
        }
        upstreamCh = (Channel) f.getNow();
        upstreamCh.pipeline().get(BackendHandler.class).attach(answer);
        ex.state = Exchange.State.FORWARDING;
        if (expectContinue) {
            ex.sendContinue();
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
        } else if (prefix != null || early != null || earlyExpected) {
            if (prefix != null) {
                up.write(prefix, up.voidPromise());
                prefix = null;
            }
            HttpContent next = early;
            early = null;
            if (next != null) {
                forwardBody(next);
            } else {
                earlyExpected = false; // the outstanding read delivers the next part while forwarding
                up.flush();
            }
        } else {
            // The head waits for the first body part if the agent already sent it (one send for both); if not, it
            // goes out alone right after, so an upstream that answers before the body (gRPC) is not kept waiting.
            headUnflushed = true;
            // Last: reading may deliver the next body part at once, which can end the exchange.
            readAgent();
            if (headUnflushed) {
                headUnflushed = false;
                up.flush();
            }
        }
    }

    /** A part of the request body while forwarding; takes ownership. */
    void forwardBody(HttpContent content) {
        ex.body.count(content.content().readableBytes());
        boolean last = content instanceof LastHttpContent;
        long max = ex.rt.limits().maxBodyBytes();
        if (ex.body.bytes() > max) {
            content.release();
            ex.requestDone = last;
            if (ex.responseStarted) {
                ex.abort("body_too_large");
            } else {
                ex.refuse(new RequestChecks.Refusal(ProxyError.BODY_TOO_LARGE, "body larger than " + max + " bytes"),
                        true);
            }
            return;
        }
        if (ex.responseDone) {
            // The upstream already answered in full; the rest of the body has nowhere to go.
            ex.body.drop(content);
            return;
        }
        headUnflushed = false;
        if (withheld != null && !last) {
            // An empty DATA frame (the codec refuses any byte beyond the declared length): still not the end.
            content.release();
            readAgent();
            return;
        } else if (withheld != null) {
            upstreamCh.write(withheld, upstreamCh.voidPromise());
            withheld = null;
        } else if (!last && declaredLength >= 0 && ex.body.bytes() >= declaredLength) {
            // The declared length is reached but the stream has not ended: an HTTP/1.1 upstream would take these
            // bytes for a complete request even if the stream then turns out malformed (more DATA), so the part
            // waits for the end. What went before it (the head, a held prefix) goes now: the upstream sees the call
            // start, never its end.
            withheld = content;
            upstreamCh.flush();
            readAgent();
            return;
        }
        upstreamCh.writeAndFlush(last ? ExchangeMessages.withSafeTrailers((LastHttpContent) content) : content,
                upstreamCh.voidPromise());
        if (last) {
            ex.requestDone = true;
            if (!ex.responseStarted) {
                startResponseTimer();
            }
        } else {
            readAgent();
        }
    }

    private void readAgent() {
        if (upstreamCh.isWritable()) {
            ex.conn.readAgent();
        } else {
            agentReadPending = true;
        }
    }

    /** The upstream channel can take more: resume reading the agent if that was held back. */
    void onUpstreamWritable() {
        if (agentReadPending && ex.state == Exchange.State.FORWARDING) {
            agentReadPending = false;
            ex.conn.readAgent();
        }
    }

    /**
     * The one timer of the call: first the wait for the response head ({@code timeouts.response}), then, once the
     * head came, the body idle time. Re-armed lazily: the head arriving switches what the timer checks instead of
     * cancelling it and scheduling another, and a timer that fires early sleeps again for what is left.
     */
    void startResponseTimer() {
        bodyPhase = false;
        schedule(upstream.timeouts.response().toNanos());
    }

    /** The response head came: the timer now watches the body ({@link #startBodyIdleTimer}) or nothing. */
    void headArrived() {
        bodyPhase = true;
        lastUpstreamActivity = System.nanoTime();
    }

    /**
     * After the response head: the upstream must deliver a body part at least every {@code timeouts.bodyIdle}
     * while the agent can take more (a pause the sidecar imposes, back-pressure, does not count).
     */
    void startBodyIdleTimer() {
        bodyPhase = true;
        upstreamActive();
        long limit = upstream.timeouts.bodyIdle().toNanos();
        if (responseTimer != null && timerAt - (lastUpstreamActivity + limit) > 0) {
            responseTimer.cancel(false); // it would fire after the body's deadline
            responseTimer = null;
        }
        if (responseTimer == null) {
            schedule(limit);
        }
    }

    /** The upstream delivered a body part, or is asked again after a pause: its body idle time starts over. */
    void upstreamActive() {
        lastUpstreamActivity = System.nanoTime();
    }

    private void schedule(long delayNanos) {
        timerAt = System.nanoTime() + delayNanos;
        responseTimer = ex.ctx.executor().schedule(this::timerFired, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void timerFired() {
        responseTimer = null;
        if (ex.state != Exchange.State.FORWARDING || ex.responseDone) {
            return;
        }
        if (!bodyPhase) {
            if (!ex.responseStarted) {
                answer.failed(ProxyError.UPSTREAM_TIMEOUT, "no response from " + upstream.config.authority()
                        + " within " + upstream.timeouts.response().toMillis() + " ms");
            }
            return;
        }
        long limit = upstream.timeouts.bodyIdle().toNanos();
        long idle = System.nanoTime() - lastUpstreamActivity;
        if (answer.heldBack()) {
            schedule(limit);
        } else if (idle < limit) {
            schedule(limit - idle);
        } else {
            answer.failed(ProxyError.UPSTREAM_TIMEOUT, "no response body byte from " + upstream.config.authority()
                    + " within " + upstream.timeouts.bodyIdle().toMillis() + " ms");
        }
    }

    void cancelTimer() {
        if (responseTimer != null) {
            responseTimer.cancel(false);
            responseTimer = null;
        }
    }

    /** Gives the upstream channel back (to the pool when {@code reusable}) and drops a body not yet sent. */
    void release(boolean reusable) {
        cancelTimer();
        if (pendingBody != null) {
            pendingBody.release();
            pendingBody = null;
        }
        prefix = release(prefix);
        early = release(early);
        withheld = release(withheld);
        earlyExpected = false;
        Channel ch = upstreamCh;
        upstreamCh = null;
        if (ch != null) {
            upstream.release(ch, reusable && ex.requestDone && ex.responseDone);
        }
    }

    private static HttpContent release(HttpContent part) {
        if (part != null) {
            part.release();
        }
        return null;
    }
}
