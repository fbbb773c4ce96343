package dev.toolgate.proxy;

import dev.toolgate.admission.Admission;
import dev.toolgate.admission.Step;
import dev.toolgate.mcp.ToolsList;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream side of one admitted call: borrows a channel of the route's upstream on the agent's event loop,
 * sends the head and body, and streams the answer back. Back-pressure both ways: the agent side is read one
 * message at a time and only while the upstream can take more; the upstream is read once per read cycle and only
 * while the agent side is writable. A {@code tools/list} answer passes through a {@link ToolsListTap}. Anything it
 * cannot relay faithfully ends the exchange: a JSON answer before the response started, a cut connection after.
 *
 * <p>Not thread-safe: used on the exchange's event loop only.
 */
final class UpstreamRelay implements UpstreamListener {
    private static final Logger log = LoggerFactory.getLogger(UpstreamRelay.class);
    /** Largest tools/list answer read (and, on a filtering route, passed on). */
    static final int TOOLS_LIST_MAX_BYTES = 8 << 20;

    private final Exchange ex;
    private final Step.Admitted admitted;
    private final Upstream upstream;
    private final boolean expectContinue;
    private final ToolsListTap toolsTap;
    private HttpRequest outbound;
    private LastHttpContent pendingBody;
    private Channel upstreamCh;
    private ScheduledFuture<?> responseTimer;
    private boolean upstreamReusable;
    private boolean agentReadPending;
    private boolean upstreamReadPending;
    private boolean headUnflushed;
    private boolean agentFlushPending;
    private Integer upstreamStatus;
    private long bytesOut;

    /** A call judged by its head: the body (if any) streams after the head. */
    UpstreamRelay(Exchange ex, Step.Admitted admitted, HttpRequest req) {
        this.ex = ex;
        this.admitted = admitted;
        this.upstream = ex.rt.upstreams().get(admitted.route());
        this.expectContinue = !ex.http2 && req.headers().contains(HttpHeaderNames.EXPECT);
        this.outbound = ExchangeMessages.upstreamRequest(req, admitted.match(), admitted.target(), upstream, ex.trace);
        this.toolsTap = null;
    }

    /** A call judged by its body (an MCP POST): the collected body goes in one piece with its length. */
    UpstreamRelay(Exchange ex, Step.Admitted admitted, HttpRequest outbound, ByteBuf body) {
        this.ex = ex;
        this.admitted = admitted;
        this.upstream = ex.rt.upstreams().get(admitted.route());
        this.expectContinue = false;
        this.outbound = outbound;
        outbound.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        HttpUtil.setContentLength(outbound, body.readableBytes());
        this.pendingBody = new DefaultLastHttpContent(body);
        ToolsList watched = admitted.toolsList();
        this.toolsTap = watched == null ? null
                : new ToolsListTap(watched, ex.ctx.alloc(), TOOLS_LIST_MAX_BYTES, ex.http2);
    }

    /** The whole body came with the head: it moves on with the exchange and goes once the channel is there. */
    void bodyInFull(FullHttpRequest full) {
        pendingBody = ExchangeMessages.withSafeTrailers(
                new DefaultLastHttpContent(full.content().retain(), full.trailingHeaders()));
        ex.body.count(full.content().readableBytes());
    }

    /** The upstream request's headers (the credential is set here). */
    HttpHeaders outboundHeaders() {
        return outbound.headers();
    }

    Integer upstreamStatus() {
        return upstreamStatus;
    }

    long bytesOut() {
        return bytesOut;
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
        upstreamCh.pipeline().get(BackendHandler.class).attach(this);
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

    @Override
    public void onUpstreamWritable() {
        if (agentReadPending && ex.state == Exchange.State.FORWARDING) {
            agentReadPending = false;
            ex.conn.readAgent();
        }
    }

    @Override
    public void onUpstreamMessage(HttpObject msg) {
        if (ex.state != Exchange.State.FORWARDING) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpResponse res) {
            onHead(res);
            return;
        }
        HttpContent content = (HttpContent) msg;
        if (!ex.responseStarted) {
            content.release();
            failed(ProxyError.UPSTREAM_BAD_RESPONSE, "body before response head");
            return;
        }
        bytesOut += content.content().readableBytes();
        if (toolsTap != null) {
            boolean headSent = !toolsTap.holding();
            try {
                content = toolsTap.content(content);
            } catch (ToolsListTap.Refused e) {
                toolsListRefused(e.getMessage(), headSent);
                return;
            }
            if (content == null) {
                return;
            }
        }
        if (content instanceof LastHttpContent last) {
            ex.responseDone = true;
            ex.lastWrite = ex.ctx.writeAndFlush(ExchangeMessages.withSafeResponseTrailers(last));
            complete();
        } else {
            writeToAgent(content);
        }
    }

    private void onHead(HttpResponse res) {
        if (res.decoderResult().isFailure() || ex.responseStarted) {
            ReferenceCountUtil.release(res);
            failed(ProxyError.UPSTREAM_BAD_RESPONSE, "malformed response from the upstream");
            return;
        }
        if (res.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
            ReferenceCountUtil.release(res);
            if (res.status().code() == 101) {
                failed(ProxyError.UPSTREAM_BAD_RESPONSE, "upstream switched protocols unasked");
            }
            return;
        }
        cancelTimer();
        ex.responseStarted = true;
        upstreamStatus = res.status().code();
        if (admitted.sessionId() == null && admitted.match().route().protocol().equals("mcp")) {
            String sid = res.headers().get(Admission.MCP_SESSION_ID);
            if (sid != null) {
                ex.rt.admission().sessionOpened(admitted, ex.audit.agentId().uri(), sid);
            }
        }
        upstreamReusable = HttpUtil.isKeepAlive(res);
        if (res instanceof FullHttpResponse full) {
            bytesOut += full.content().readableBytes();
        }
        HttpResponse out = ExchangeMessages.agentResponse(res, ex.framing);
        if (toolsTap != null) {
            try {
                out = toolsTap.head(out);
            } catch (ToolsListTap.Refused e) {
                ReferenceCountUtil.release(out);
                toolsListRefused(e.getMessage(), false);
                return;
            }
            if (out == null) {
                return; // held until the answer is in (filtered tools/list)
            }
        }
        if (out instanceof LastHttpContent) {
            ex.responseDone = true;
            ex.lastWrite = ex.ctx.writeAndFlush(out);
            complete();
        } else {
            writeToAgent(out);
        }
    }

    /**
     * Response parts are written as they come and flushed once per upstream read cycle (or with the last part):
     * a head and a small body then leave in one send and one TLS record instead of two.
     */
    private void writeToAgent(HttpObject part) {
        ex.ctx.write(part, ex.ctx.voidPromise());
        agentFlushPending = true;
    }

    /**
     * One upstream read per read cycle, and only while the agent can take more: a cycle may deliver many
     * messages, and asking per message would keep reading after the agent side filled up.
     */
    @Override
    public void onUpstreamReadComplete() {
        if (agentFlushPending) {
            agentFlushPending = false;
            ex.ctx.flush();
        }
        if (ex.state == Exchange.State.FORWARDING && !ex.responseDone && upstreamCh != null) {
            if (ex.ctx.channel().isWritable()) {
                upstreamCh.read();
            } else {
                upstreamReadPending = true;
            }
        }
    }

    /** The agent channel can take more: resume reading the upstream if that was held back. */
    void onAgentWritable() {
        if (upstreamReadPending && upstreamCh != null) {
            upstreamReadPending = false;
            upstreamCh.read();
        }
    }

    private void complete() {
        if (!ex.requestDone) {
            // The upstream answered before the body ended (e.g. an early 413 or a gRPC status): the upstream
            // connection is out of step and is closed; on HTTP/1.1 the rest of the body is read and dropped.
            release(false);
            if (ex.http2) {
                ex.finish(true);
            } else {
                ex.state = Exchange.State.DISCARDING;
                ex.conn.readAgent();
            }
            return;
        }
        release(upstreamReusable);
        ex.finish(false);
    }

    @Override
    public void onUpstreamClosed() {
        upstreamCh = null;
        if (ex.state != Exchange.State.FORWARDING || ex.responseDone) {
            return;
        }
        if (ex.responseStarted) {
            log.debug("[{}] route {}: upstream closed mid-response", ex.ctx.channel().id(), admitted.route());
            ex.abort("upstream_reset");
        } else {
            failed(ProxyError.UPSTREAM_RESET, "upstream closed the connection before responding");
        }
    }

    /**
     * A filtered {@code tools/list} answer could not be read: it is not passed on (fail closed). Before anything
     * was sent the agent gets a 502 saying so; after (an event stream), the exchange is cut.
     */
    private void toolsListRefused(String reason, boolean headSent) {
        log.warn("[{}] route {}: {}", ex.ctx.channel().id(), admitted.route(), reason);
        toolsTap.release();
        if (headSent) {
            ex.abort("tools_list_refused");
        } else {
            ex.responseStarted = false;
            failed(ProxyError.UPSTREAM_BAD_RESPONSE, reason);
        }
    }

    private void failed(ProxyError error, String reason) {
        log.debug("[{}] route {}: {}", ex.ctx.channel().id(), admitted.route(), reason);
        if (ex.responseStarted) {
            ex.abort(error.code);
        } else {
            ex.refuse(new RequestChecks.Refusal(error, reason), false);
        }
    }

    private void startResponseTimer() {
        long ms = upstream.timeouts.response().toMillis();
        responseTimer = ex.ctx.executor().schedule(() -> {
            responseTimer = null;
            if (ex.state == Exchange.State.FORWARDING && !ex.responseStarted) {
                failed(ProxyError.UPSTREAM_TIMEOUT,
                        "no response from " + upstream.config.authority() + " within " + ms + " ms");
            }
        }, ms, TimeUnit.MILLISECONDS);
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
        Channel ch = upstreamCh;
        upstreamCh = null;
        if (ch != null) {
            upstream.release(ch, reusable && ex.requestDone && ex.responseDone);
        }
    }

    /** Adds what a tools/list answer showed to the outcome's reason: tools seen, hidden, changed definitions. */
    String toolsSeen(String reason) {
        if (toolsTap == null) {
            return reason;
        }
        ToolsList seen = toolsTap.tools();
        ex.audit.tools(seen.digests());
        StringBuilder sb = new StringBuilder(reason == null ? "" : reason + "; ");
        sb.append("tools/list: ").append(seen.digests().size()).append(" tools");
        if (seen.filters()) {
            sb.append(", ").append(seen.hidden()).append(" hidden");
        }
        List<String> changed = ex.rt.toolDigests().changed(admitted.route(), seen.digests());
        if (!changed.isEmpty()) {
            log.warn("[{}] route {}: tool definitions changed since last listed: {}", ex.ctx.channel().id(),
                    admitted.route(), changed);
            sb.append("; definition changed since last listed: ").append(String.join(", ", changed));
        }
        if (toolsTap.note() != null) {
            sb.append("; ").append(toolsTap.note());
        }
        return sb.toString();
    }
}
