package dev.toolgate.proxy;

import dev.toolgate.admission.AdmissionRequest;
import dev.toolgate.admission.Intent;
import dev.toolgate.admission.JsonRpcDenial;
import dev.toolgate.admission.Step;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.common.Protocol;
import dev.toolgate.credential.CredentialException;
import dev.toolgate.credential.TaskClaims;
import dev.toolgate.grant.Task;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.TraceParent;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request and its answer, as a small state machine: the head is checked for framing and the caller
 * identified, then {@link dev.toolgate.admission.Admission} judges it (an MCP POST once its body is read, a task
 * request goes to {@link LocalCall}); an admitted call gets its credential and its decision record, then
 * {@link UpstreamRelay} streams it to the upstream and the answer back. Anything refused is audited first and
 * answered in the protocol's own form ({@link ErrorResponses}, {@link JsonRpcDenial}).
 *
 * <p>Not thread-safe: created and used on the agent channel's event loop only.
 */
final class Exchange {
    private static final Logger log = LoggerFactory.getLogger(Exchange.class);

    enum State { CONNECTING, FORWARDING, DISCARDING, LOCAL, COLLECTING, DONE }

    final FrontendHandler conn;
    final ChannelHandlerContext ctx;
    final ProxyRuntime rt;
    final boolean http2;
    final RequestBody body;

    State state = State.CONNECTING;
    TraceParent trace;
    ExchangeAudit audit;
    ExchangeMessages.Framing framing;
    /** The agent asked {@code Expect: 100-continue} and was not told to go on: it sends no body. */
    boolean bodyWithheld;
    boolean requestDone;
    boolean responseStarted;
    boolean responseDone;
    ChannelFuture lastWrite;
    /** An HTTP/2 request with a gRPC content type: the sidecar's own answers take gRPC's form. */
    private boolean grpcClient;
    private DecisionCode deniedCode;
    /** The approval a refused call waits for or was refused by (shown in the answer), or null. */
    private String approvalId;
    private boolean allowed;
    private boolean outcomeRecorded;
    /** Why the agent's side broke while the decision record was being written (null: it did not, or it left). */
    private String brokeBeforeForward;
    private UpstreamRelay relay;
    private LocalCall local;

    Exchange(FrontendHandler conn, ChannelHandlerContext ctx, ProxyRuntime rt, boolean http2) {
        this.conn = conn;
        this.ctx = ctx;
        this.rt = rt;
        this.http2 = http2;
        this.body = new RequestBody(this);
    }

    /** Starts with the request head; takes ownership of {@code req}. */
    void start(HttpRequest req) {
        log.debug("[{}] {} {}", ctx.channel().id(), req.method(), req.uri());
        CallSpans.Started span = rt.spans().start(req.headers().get(HopByHop.TRACEPARENT));
        trace = span.hop();
        audit = rt.audits().open(ctx.channel(), span.span());
        audit.trace(trace);
        audit.intent(StrictHttpRequestDecoder.unparsed(req)
                ? new Intent(null, Protocol.HTTP, StrictHttpRequestDecoder.UNPARSED_OPERATION, null, null, null)
                : Intent.of(req.method().name(), req.uri()));
        boolean http10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
        framing = new ExchangeMessages.Framing(http2, http10, req.method().equals(HttpMethod.HEAD),
                !http2 && !http10 && HttpUtil.isKeepAlive(req));
        boolean full = req instanceof FullHttpRequest;
        requestDone = full;
        // An agent that asked 100-continue sends no body until it gets one: a final answer before it needs no
        // lingering close (RFC 9110 10.1.1).
        bodyWithheld = !http2 && HttpUtil.is100ContinueExpected(req);
        String contentType = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
        grpcClient = http2 && contentType != null && contentType.startsWith("application/grpc");
        try {
            RequestChecks.Refusal r = RequestChecks.head(req, http2, rt.limits().maxBodyBytes());
            if (r != null) {
                deny(DecisionCode.DENY_MALFORMED, r, r.closes());
                return;
            }
            RequestIdentity.Caller caller;
            try {
                caller = RequestIdentity.identify(audit.peer(), req.headers(), rt.access());
            } catch (RequestIdentity.Refused no) {
                deny(no.code, new RequestChecks.Refusal(no.error, no.getMessage()), no.close);
                return;
            }
            audit.identify(caller.id(), caller.proof());
            Step step = rt.admission().head(new AdmissionRequest(req.method().name(), req.uri(),
                    new NettyRequestHeaders(req.headers()), caller.id(), caller.proof(), true));
            audit.intent(step.intent());
            if (step instanceof Step.Refused no) {
                refused(no);
            } else if (step instanceof Step.Local l) {
                local = new LocalCall(this, caller.id(), req.method().name(), l);
                local.start(req, full);
            } else if (step instanceof Step.NeedsBody nb) {
                body.collectMcp(req, nb, full);
            } else {
                Step.Admitted a = (Step.Admitted) step;
                UpstreamRelay up = new UpstreamRelay(this, a, req);
                if (full) {
                    up.bodyInFull((FullHttpRequest) req);
                } else if (body.checksFirst(req)) {
                    body.hold(req, a, up); // forwarded once the body is in and well-formed, or streamed
                    return;
                }
                forward(a, up);
            }
        } finally {
            ReferenceCountUtil.release(req);
        }
    }

    /** Audits a refusal admission decided, then answers it in the protocol's form. */
    void refused(Step.Refused no) {
        approvalId = no.approvalId();
        if (no.jsonRpc() != null) {
            deniedCode = no.code();
            JsonRpcDenial.Body answer = JsonRpcDenial.of(no, audit.decisionId);
            audit.decide(no.code(), no.reason(), () -> answerJson(answer.status(), answer.json()),
                    () -> refuse(new RequestChecks.Refusal(ProxyError.of(no), no.reason(), no.retryAfterSeconds()),
                            true));
            return;
        }
        deny(no.code(), new RequestChecks.Refusal(ProxyError.of(no), no.reason(), no.retryAfterSeconds()),
                no.answer() == Step.Answer.BODY_TOO_LARGE);
    }

    /** The call is admitted: add the route's credential, write the decision record, then go to the upstream. */
    void forward(Step.Admitted a, UpstreamRelay r) {
        relay = r;
        String route = a.route();
        try {
            Task t = a.allow().task().task();
            rt.credentials().apply(route, new TaskClaims(t.id(), t.subject().uri(), t.purpose(), t.expiresAt()),
                    relay.outboundHeaders()::set);
        } catch (CredentialException e) {
            log.warn("[{}] route {}: no upstream credential: {}", ctx.channel().id(), route, e.getMessage());
            rt.admission().giveBack(a);
            deny(DecisionCode.ERROR_FAIL_CLOSED, new RequestChecks.Refusal(ProxyError.DECISION_FAILED,
                    "the upstream credential for route " + route + " could not be produced; denied"), false);
            return;
        }
        // Nothing is forwarded before the decision record is accepted by the audit trail.
        audit.decide(DecisionCode.ALLOW, a.allow().reason(),
                () -> {
                    allowed = true;
                    if (state != State.CONNECTING) {
                        // The agent left (or broke the framing) while the decision record was being written: close
                        // the record pair with what happened.
                        recordOutcome(brokeBeforeForward == null ? "agent_closed" : "malformed_body",
                                brokeBeforeForward == null ? "the agent left before the call was forwarded"
                                        : brokeBeforeForward);
                        return;
                    }
                    relay.connect();
                },
                () -> {
                    rt.admission().giveBack(a);
                    refuse(new RequestChecks.Refusal(ProxyError.AUDIT_UNAVAILABLE,
                            "the call could not be audited in time (ERROR_FAIL_CLOSED)"), true);
                });
    }

    /** Audits a refusal decided here (framing, identity, credential), then answers it. */
    void deny(DecisionCode code, RequestChecks.Refusal r, boolean close) {
        deniedCode = code;
        audit.decide(code, r.reason(), () -> refuse(r, close), () -> refuse(r, true));
    }

    /** A part of the request body; takes ownership. */
    void onAgentContent(HttpContent content) {
        body.onContent(content, relay);
    }

    /** Answers with a JSON body the sidecar made itself and ends the exchange. */
    void answerJson(int status, byte[] json) {
        boolean close = !requestDone;
        responseStarted = true;
        responseDone = true;
        lastWrite = ctx.writeAndFlush(ErrorResponses.json(ctx.alloc(), status, json,
                !http2 && (close || !framing.keepAlive())));
        finish(close);
    }

    /** Writes {@code 100 Continue}: the agent that asked for it may now send its body. */
    void sendContinue() {
        bodyWithheld = false;
        ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE),
                ctx.voidPromise());
    }

    /** The agent channel can take more: resume reading the upstream if that was held back. */
    void onAgentWritable() {
        if (relay != null) {
            relay.answer.onAgentWritable();
        }
    }

    /** Ends the exchange; {@code close} also ends the agent connection (HTTP/1.1) or stream (HTTP/2). */
    void finish(boolean close) {
        if (relay != null) {
            relay.cancelTimer();
        }
        recordOutcome("completed", null);
        state = State.DONE;
        conn.exchangeDone(this, close || !http2 && !framing.keepAlive(), lastWrite, !requestDone && !bodyWithheld);
    }

    /**
     * Answers the request with a JSON error (gRPC's form to a gRPC client). {@code close} ends the connection
     * (HTTP/1.1) or stream (HTTP/2) after the answer; otherwise an unread HTTP/1.1 body is read and dropped so the
     * connection stays usable.
     */
    void refuse(RequestChecks.Refusal r, boolean close) {
        if (relay != null) {
            relay.release(false);
        }
        recordOutcome(r.error().code, r.reason());
        responseStarted = true;
        responseDone = true;
        boolean closeAfter = close || !framing.keepAlive() || http2 && !requestDone;
        String code = deniedCode == null ? null : deniedCode.name();
        FullHttpResponse res = grpcClient
                ? ErrorResponses.grpc(ctx.alloc(), r.error(), code, r.reason(), audit.decisionId, approvalId)
                : ErrorResponses.of(ctx.alloc(), r.error(), code, r.reason(), audit.route(), trace.traceId(),
                        audit.decisionId, approvalId, r.retryAfterSeconds(), closeAfter && !http2);
        lastWrite = ctx.writeAndFlush(res);
        if (closeAfter || requestDone) {
            finish(closeAfter);
        } else {
            state = State.DISCARDING;
            conn.readAgent();
        }
    }

    /** Ends a broken exchange at once: closes the upstream and the agent connection (HTTP/1.1) or stream. */
    void abort(String outcome) {
        recordOutcome(outcome, null);
        if (relay != null) {
            relay.release(false);
        }
        state = State.DONE;
        conn.abort(this);
    }

    /**
     * The agent's stream broke HTTP/2's framing rules after its head was accepted (DATA against
     * {@code content-length}, a malformed trailer): a body still held back is refused ({@code DENY_MALFORMED}, the
     * head never left); else the request never completes upstream and the stream is reset.
     */
    void onAgentMalformed(String reason) {
        if (state == State.COLLECTING) {
            body.malformed(reason); // a body read before forwarding: refused and audited, nothing went upstream
            return;
        }
        brokeBeforeForward = reason;
        recordOutcome("malformed_body", reason);
        abort("malformed_body");
    }

    /** The agent went away: give everything back. */
    void onAgentClosed() {
        local = null;
        body.release();
        recordOutcome("agent_closed", "the agent closed the connection or stream before the exchange ended");
        if (relay != null) {
            relay.release(false);
        }
        state = State.DONE;
    }

    /** Whether a task request is still waiting for its answer (the agent may have left meanwhile). */
    boolean serving(LocalCall call) {
        return state == State.LOCAL && local == call;
    }

    /** The outcome record, once, for an allowed call (a denied one has only its decision record). */
    void recordOutcome(String outcome, String reason) {
        if (allowed && !outcomeRecorded) {
            outcomeRecorded = true;
            audit.outcome(relay.answer.upstreamStatus(), outcome, relay.answer.toolsSeen(reason), body.bytes(),
                    relay.answer.bytesOut());
        }
    }
}
