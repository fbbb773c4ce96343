package dev.toolgate.proxy;

import dev.toolgate.admission.Admission;
import dev.toolgate.admission.Step;
import dev.toolgate.common.Protocol;
import dev.toolgate.mcp.ToolsList;
import dev.toolgate.mcp.ToolsListRewriter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The answer leg of one forwarded call: the upstream's response head and body streamed to the agent, read once
 * per read cycle and only while the agent side is writable, flushed once per cycle; the MCP session an answer
 * opens bound to the call's identity and task; a {@code tools/list} answer passed through its
 * {@link ToolsListTap}. An answer it cannot relay faithfully ends the exchange: a JSON answer before the response
 * started, a cut connection or stream after. The request leg is {@link UpstreamRelay}.
 *
 * <p>Not thread-safe: used on the exchange's event loop only.
 */
final class ResponseRelay implements UpstreamListener {
    private static final Logger log = LoggerFactory.getLogger(ResponseRelay.class);

    private final Exchange ex;
    private final UpstreamRelay leg;
    private final Step.Admitted admitted;
    private final ToolsListTap toolsTap;
    private boolean upstreamReusable;
    private boolean upstreamReadPending;
    private boolean agentFlushPending;
    private Integer upstreamStatus;
    private long bytesOut;

    ResponseRelay(Exchange ex, UpstreamRelay leg, Step.Admitted admitted, ToolsListTap toolsTap) {
        this.ex = ex;
        this.leg = leg;
        this.admitted = admitted;
        this.toolsTap = toolsTap;
    }

    /** The upstream's status, or null when none came. */
    Integer upstreamStatus() {
        return upstreamStatus;
    }

    /** Response body bytes relayed. */
    long bytesOut() {
        return bytesOut;
    }

    @Override
    public void onUpstreamWritable() {
        leg.onUpstreamWritable();
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
        leg.upstreamActive();
        if (toolsTap != null) {
            boolean headSent = !toolsTap.holding();
            try {
                content = toolsTap.content(content);
            } catch (ToolsListRewriter.Refused e) {
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
        leg.headArrived();
        ex.responseStarted = true;
        upstreamStatus = res.status().code();
        if (admitted.sessionId() == null && admitted.match().route().protocol() == Protocol.MCP) {
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
            } catch (ToolsListRewriter.Refused e) {
                ReferenceCountUtil.release(out);
                toolsListRefused(e.getMessage(), false);
                return;
            }
            if (out == null) {
                leg.startBodyIdleTimer();
                return; // held until the answer is in (filtered tools/list)
            }
        }
        if (out instanceof LastHttpContent) {
            ex.responseDone = true;
            ex.lastWrite = ex.ctx.writeAndFlush(out);
            complete();
        } else {
            writeToAgent(out);
            leg.startBodyIdleTimer();
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
        if (ex.state == Exchange.State.FORWARDING && !ex.responseDone && leg.channel() != null) {
            if (ex.ctx.channel().isWritable()) {
                leg.channel().read();
            } else {
                upstreamReadPending = true;
            }
        }
    }

    /** The agent channel can take more: resume reading the upstream if that was held back. */
    void onAgentWritable() {
        if (upstreamReadPending && leg.channel() != null) {
            upstreamReadPending = false;
            leg.upstreamActive();
            leg.channel().read();
        }
    }

    private void complete() {
        if (!ex.requestDone) {
            // The upstream answered before the body ended (e.g. an early 413 or a gRPC status): the upstream
            // connection is out of step and is closed; on HTTP/1.1 the rest of the body is read and dropped.
            leg.release(false);
            if (ex.http2) {
                ex.finish(true);
            } else {
                ex.state = Exchange.State.DISCARDING;
                ex.conn.readAgent();
            }
            return;
        }
        leg.release(upstreamReusable);
        ex.finish(false);
    }

    /** Whether reading the upstream waits for the agent side to take more (back-pressure, not the upstream's stall). */
    boolean heldBack() {
        return upstreamReadPending;
    }

    @Override
    public void onUpstreamClosed() {
        leg.channelClosed();
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

    void failed(ProxyError error, String reason) {
        log.debug("[{}] route {}: {}", ex.ctx.channel().id(), admitted.route(), reason);
        if (ex.responseStarted) {
            ex.abort(error.code);
        } else {
            ex.refuse(new RequestChecks.Refusal(error, reason), false);
        }
    }

    /** Adds what a tools/list answer showed to the outcome's reason: tools seen, hidden, changed definitions. */
    String toolsSeen(String reason) {
        if (toolsTap == null) {
            return reason;
        }
        ToolsList seen = toolsTap.tools();
        ex.audit.tools(seen.digests());
        List<String> changed = ex.rt.toolDigests().changed(admitted.route(), seen.digests());
        if (!changed.isEmpty()) {
            log.warn("[{}] route {}: tool definitions changed since last listed: {}", ex.ctx.channel().id(),
                    admitted.route(), changed);
        }
        return seen.describe(reason, changed, toolsTap.note());
    }
}
