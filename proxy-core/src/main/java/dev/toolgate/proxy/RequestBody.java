package dev.toolgate.proxy;

import dev.toolgate.admission.Step;
import dev.toolgate.common.DecisionCode;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's request body within one {@link Exchange}: read whole (bounded) before anything is decided where the
 * decision needs it (an MCP POST, a task request), held back and checked before the head of an admitted call goes
 * upstream where that is cheap ({@code limits.maxCheckedBodyBytes}), streamed to the upstream once a call is
 * forwarding, read and dropped after an early answer, and counted for the outcome record.
 *
 * <p>A held body is read with the same collector as an MCP body. It is read whole when HTTP/2 declared its
 * {@code content-length} within the limit (or 0): the upstream could otherwise take the declared bytes for a
 * complete request before the stream shows they were not. A chunked HTTP/1.1 body, or an HTTP/2 body without a
 * declared length, is held as far as it arrived with the head: when the agent pauses (nothing more received once
 * what came with the head is decoded) or the limit is passed, the head and what was held go, and the rest streams.
 * A body that breaks its framing, or ends with a trailer field the sidecar would not forward, while held is
 * refused {@code DENY_MALFORMED} (400, or RST_STREAM where HTTP/2's codec found it) and nothing reaches the
 * upstream; once streaming, the upstream's request is cut (connection closed, or its stream reset) and never
 * completes.
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
    /** An admitted call whose body is held back and checked before its head goes upstream, and its relay. */
    private Step.Admitted held;
    private UpstreamRelay heldRelay;
    /** The held body is read to its end (a declared HTTP/2 length), not only as far as it arrived with the head. */
    private boolean heldWhole;
    /** The trailer fields of the last part collected. */
    private HttpHeaders trailers;
    /** Body parts collected so far: a pause check compares it to see whether any came meanwhile. */
    private long parts;
    /** {@link #readMore} is looping: a part delivered at once asks for the next through the loop, not recursion. */
    private boolean looping;
    private boolean more;

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
     * Reads the request body (at most {@code limit} bytes; more is refused 413 and the connection closed, or, for a
     * held body, streamed) before anything is decided or forwarded, then runs {@code then}, which takes the body
     * with {@link #take()}.
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
        readMore();
    }

    /**
     * Whether the body of {@code req}, an admitted call's head whose body is still to come, is held back and checked
     * before the head goes upstream. No for Content-Length framed HTTP/1.1 bodies (their framing cannot break:
     * a short one is a cut request), for an agent waiting on {@code 100-continue}, and for HTTP/2 bodies declared
     * larger than the limit. A bodyless HTTP/1.1 request answers no after one header lookup.
     */
    boolean checksFirst(HttpRequest req) {
        if (!ex.http2) {
            return req.headers().contains(HttpHeaderNames.TRANSFER_ENCODING) && ex.rt.limits().checkedBodyBytes() > 0
                    && HttpUtil.isTransferEncodingChunked(req) && !HttpUtil.is100ContinueExpected(req);
        }
        long declared = HttpUtil.getContentLength(req, -1L);
        int limit = ex.rt.limits().checkedBodyBytes();
        // A declared 0 is held even with checking off: its head alone would be a complete request upstream.
        return declared == 0 || limit > 0 && declared <= limit;
    }

    /** Holds the body of an admitted call (see {@link #checksFirst}); the call goes on with {@code relay}. */
    void hold(HttpRequest req, Step.Admitted admitted, UpstreamRelay relay) {
        held = admitted;
        heldRelay = relay;
        heldWhole = ex.http2 && HttpUtil.isContentLengthSet(req);
        collect(req, false, ex.rt.limits().checkedBodyBytes(), this::checked, null);
    }

    /** The held body is in whole and well-formed: it goes with the head. */
    private void checked() {
        Step.Admitted a = held;
        UpstreamRelay up = heldRelay;
        held = null;
        heldRelay = null;
        up.bodyChecked(take().take(), trailers);
        trailers = null;
        ex.forward(a, up);
    }

    /**
     * The held body passed the limit ({@code next} is the part that did) or paused ({@code next} is null; the read
     * asked for stays outstanding): the head and what was held go, and the rest streams.
     */
    private void stream(HttpContent next) {
        Step.Admitted a = held;
        UpstreamRelay up = heldRelay;
        held = null;
        heldRelay = null;
        BodyCollector in = take();
        bytes += in.size();
        ex.state = Exchange.State.CONNECTING;
        up.streamAfter(in.take(), next);
        ex.forward(a, up);
    }

    /**
     * Asks for the next part of a body being collected. Parts already received come at once (in this loop, not by
     * recursion: a body of many small chunks must not grow the stack). For a held body read only as far as it
     * arrived, a check runs after the event loop has handed over everything received so far (HTTP/2 DATA frames
     * decoded behind the HEADERS included): if no part came by then, the agent paused and the body streams.
     */
    private void readMore() {
        if (looping) {
            more = true;
            return;
        }
        looping = true;
        try {
            do {
                more = false;
                long seen = parts;
                ex.conn.readAgent();
                if (parts == seen && held != null && !heldWhole) {
                    ex.ctx.executor().execute(() -> paused(seen));
                }
            } while (more);
        } finally {
            looping = false;
        }
    }

    private void paused(long seen) {
        if (ex.state == Exchange.State.COLLECTING && held != null && parts == seen) {
            stream(null);
        }
    }

    /** HTTP/2's codec found the body being collected malformed (the stream is reset): refused and audited. */
    void malformed(String reason) {
        release();
        ex.state = Exchange.State.CONNECTING;
        ex.deny(DecisionCode.DENY_MALFORMED, new RequestChecks.Refusal(ProxyError.BAD_REQUEST,
                "malformed request body: " + reason), true);
    }

    /** The collected body, now the caller's to release. */
    BodyCollector take() {
        BodyCollector in = collected;
        collected = null;
        return in;
    }

    private void collect(HttpContent content) {
        parts++;
        boolean last = content instanceof LastHttpContent;
        boolean fits = collected.add(content.content());
        if (!fits && held != null) {
            stream(content); // larger than what is checked first: streamed from here on
            return;
        }
        if (last) {
            trailers = ((LastHttpContent) content).trailingHeaders();
        }
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
            readMore();
            return;
        }
        ex.requestDone = true;
        ex.state = Exchange.State.CONNECTING;
        bytes = collected.size();
        onCollected.run();
    }

    /** A part of the request body; takes ownership. */
    void onContent(HttpContent content, UpstreamRelay relay) {
        RequestChecks.Refusal r = content.decoderResult().isFailure()
                ? RequestChecks.bodyDecoderFailure(content.decoderResult().cause())
                : content instanceof LastHttpContent last ? RequestChecks.trailers(last.trailingHeaders()) : null;
        if (r != null) {
            // A body Netty could not frame (bad chunk line, oversize trailers), or a trailer field that must not
            // cross: the request must not look complete upstream, and nothing after it on this connection can be
            // trusted.
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
                if (relay != null && relay.takeEarly(content)) {
                    return; // the read a held body left outstanding when it went streaming
                }
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

    /** Gives back a body being collected, and the admission of a call whose held body will never go. */
    void release() {
        if (collected != null) {
            collected.release();
            collected = null;
        }
        if (held != null) {
            ex.rt.admission().giveBack(held);
            held = null;
            heldRelay.release(false);
            heldRelay = null;
        }
    }
}
