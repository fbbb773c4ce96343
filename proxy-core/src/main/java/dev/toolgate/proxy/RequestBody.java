package dev.toolgate.proxy;

import dev.toolgate.admission.Step;
import dev.toolgate.common.DecisionCode;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's request body within one {@link Exchange}: read whole (bounded) before anything is decided where the
 * decision needs it (an MCP POST, a task request), streamed to the upstream once a call is forwarding, read and
 * dropped after an early answer, and counted for the outcome record.
 *
 * <p>Not thread-safe: used on the exchange's event loop only.
 */
final class RequestBody {
    private static final Logger log = LoggerFactory.getLogger(RequestBody.class);

    private final Exchange ex;
    private long bytes;
    /** A body read before anything is decided, and what runs once it is in. */
    private BodyCollector collected;
    private Runnable onCollected;
    /** The MCP POST whose body is being read (its refusal when too large is audited), or null. */
    private Step.NeedsBody mcp;

    RequestBody(Exchange ex) {
        this.ex = ex;
    }

    /** Request body bytes seen so far (forwarded, or judged and forwarded). */
    long bytes() {
        return bytes;
    }

    void count(long n) {
        bytes += n;
    }

    /**
     * An MCP POST: its body is read (bounded) before anything is decided, because what it does is in the JSON-RPC
     * messages; nothing reaches the upstream until every message is allowed, and then the very bytes judged go.
     */
    void collectMcp(HttpRequest req, Step.NeedsBody pending, boolean full) {
        if (HttpUtil.getContentLength(req, 0L) > pending.maxBytes()) {
            ex.refused(pending.tooLarge());
            return;
        }
        Upstream upstream = ex.rt.upstreams().get(pending.match().route().name());
        // The head's headers stay as the agent sent them (the upstream request is a new message with its own
        // copy, and releasing the head frees only a body), so conditions read them after the body is in.
        HttpRequest outbound = ExchangeMessages.upstreamRequest(req, pending.match(), pending.target(), upstream,
                ex.trace);
        collect(req, full, pending.maxBytes(), () -> judged(ex.rt.admission().body(pending, collected.bytes(), 0,
                collected.size()), outbound), pending);
    }

    /** An MCP POST's body was judged: forwarded as the very bytes judged, or refused. */
    private void judged(Step step, HttpRequest outbound) {
        ex.audit.intent(step.intent());
        BodyCollector in = take();
        if (step instanceof Step.Admitted a) {
            ex.forward(a, new UpstreamRelay(ex, a, outbound, in.take()));
        } else {
            in.release();
            ex.refused((Step.Refused) step);
        }
    }

    /**
     * Reads the request body (at most {@code limit} bytes; more is refused 413 and the connection closed) before
     * anything is decided, then runs {@code then}, which takes the body with {@link #take()}.
     */
    void collect(HttpRequest req, boolean full, int limit, Runnable then, Step.NeedsBody mcp) {
        collected = new BodyCollector(ex.ctx.alloc(), limit);
        onCollected = then;
        this.mcp = mcp;
        ex.state = Exchange.State.COLLECTING;
        if (full) {
            collect(new DefaultLastHttpContent(((FullHttpRequest) req).content().retain()));
            return;
        }
        if (!ex.http2 && HttpUtil.is100ContinueExpected(req)) {
            ex.sendContinue();
        }
        ex.conn.readAgent();
    }

    /** The collected body, now the caller's to release. */
    BodyCollector take() {
        BodyCollector in = collected;
        collected = null;
        return in;
    }

    private void collect(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        boolean fits = collected.add(content.content());
        content.release();
        if (!fits) {
            ex.requestDone = last;
            int limit = collected.limit();
            release();
            ex.state = Exchange.State.CONNECTING;
            if (mcp != null) {
                ex.refused(mcp.tooLarge());
            } else {
                ex.refuse(new RequestChecks.Refusal(ProxyError.BODY_TOO_LARGE, "body larger than " + limit
                        + " bytes"), true);
            }
            return;
        }
        if (!last) {
            ex.conn.readAgent();
            return;
        }
        ex.requestDone = true;
        ex.state = Exchange.State.CONNECTING;
        bytes = collected.size();
        onCollected.run();
    }

    /** A part of the request body; takes ownership. */
    void onContent(HttpContent content, UpstreamRelay relay) {
        if (content.decoderResult().isFailure()) {
            // A body Netty could not frame (bad chunk line, oversize trailers): the request must not look complete
            // upstream, and nothing after it on this connection can be trusted.
            RequestChecks.Refusal r = RequestChecks.bodyDecoderFailure(content.decoderResult().cause());
            content.release();
            if (ex.state == Exchange.State.COLLECTING) {
                // A body read for inspection broke its framing: refused and audited, never forwarded.
                release();
                ex.state = Exchange.State.CONNECTING;
                ex.deny(DecisionCode.DENY_MALFORMED, r, true);
                return;
            }
            if (ex.responseStarted || ex.state != Exchange.State.FORWARDING && ex.state != Exchange.State.CONNECTING) {
                ex.abort("malformed_body");
            } else {
                ex.refuse(r, true);
            }
            return;
        }
        switch (ex.state) {
            case FORWARDING -> relay.forwardBody(content);
            case COLLECTING -> collect(content);
            case LOCAL -> content.release(); // the request was read in full before it was served
            case DISCARDING -> drop(content);
            case CONNECTING -> {
                // Body is only read once the upstream is there; getting some now means the read discipline broke.
                // Dropping it silently would corrupt the request, so the exchange ends instead.
                content.release();
                log.warn("[{}] request body arrived before the upstream was ready; closing", ex.ctx.channel().id());
                ex.abort("internal_error");
            }
            case DONE -> content.release();
        }
    }

    /** Reads and drops the rest of a request body the upstream will never see; the exchange ends with it. */
    void drop(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        content.release();
        if (last) {
            ex.requestDone = true;
            ex.finish(false);
        } else {
            ex.conn.readAgent();
        }
    }

    /**
     * The agent sent no byte of its request body for {@code limits.bodyIdleTimeout}: a {@code 408} if nothing was
     * answered yet (the request was not decided yet: audited as malformed), else the connection or stream is cut.
     */
    void timedOut(long millis) {
        String reason = "no request body byte from the agent within " + millis + " ms";
        if (ex.responseStarted || ex.state == Exchange.State.DISCARDING || ex.state == Exchange.State.DONE) {
            ex.recordOutcome(ProxyError.REQUEST_TIMEOUT.code, reason);
            ex.abort(ProxyError.REQUEST_TIMEOUT.code);
        } else if (ex.state == Exchange.State.COLLECTING) {
            release();
            ex.state = Exchange.State.CONNECTING;
            ex.deny(DecisionCode.DENY_MALFORMED, new RequestChecks.Refusal(ProxyError.REQUEST_TIMEOUT, reason), true);
        } else {
            ex.refuse(new RequestChecks.Refusal(ProxyError.REQUEST_TIMEOUT, reason), true);
        }
    }

    /** Gives back a body being collected. */
    void release() {
        if (collected != null) {
            collected.release();
            collected = null;
        }
    }
}
