package dev.toolgate.proxy;

import dev.toolgate.mcp.JsonRpcAnswers;
import dev.toolgate.mcp.McpSessions;
import dev.toolgate.audit.AuditRecord;
import dev.toolgate.authz.CallDecider;
import dev.toolgate.authz.Decision;
import dev.toolgate.authz.DecisionCode;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toolgate.mcp.McpMessage;
import dev.toolgate.mcp.McpParseException;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.mcp.McpRequest;
import dev.toolgate.call.PathNormalizer;
import dev.toolgate.call.RejectedTargetException;
import dev.toolgate.call.RequestHeaders;
import dev.toolgate.mcp.ToolsList;
import dev.toolgate.call.RequestTarget;
import dev.toolgate.call.RouteMatch;
import dev.toolgate.credential.CredentialException;
import dev.toolgate.credential.TaskClaims;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.grant.Task;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.TraceParent;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
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
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request and its response: check the head, normalize the target, match a route, borrow an upstream channel
 * on this event loop, then stream the body up and the response down. Back-pressure both ways: the agent side is
 * read one message at a time and only while the upstream can take more; the upstream is read once per read cycle
 * and only while the agent side is writable. Anything the sidecar cannot forward faithfully ends the exchange
 * with a JSON answer (before the response started) or a closed connection or stream (after).
 *
 * <p>Not thread-safe: created and used on the agent channel's event loop only.
 */
final class Exchange implements UpstreamListener {
    private static final Logger log = LoggerFactory.getLogger(Exchange.class);

    private static final String MCP_SESSION_ID = "mcp-session-id";
    /** Largest tools/list answer read (and, on a filtering route, passed on). */
    static final int TOOLS_LIST_MAX_BYTES = 8 << 20;

    private enum State { CONNECTING, FORWARDING, DISCARDING, LOCAL, COLLECTING, DONE }

    private final FrontendHandler conn;
    private final ChannelHandlerContext ctx;
    private final ProxyRuntime rt;
    private final boolean http2;

    private State state = State.CONNECTING;
    private String routeName;
    private TraceParent trace;
    private Upstream upstream;
    private Channel upstreamCh;
    private HttpRequest outbound;
    private LastHttpContent pendingBody;
    private ExchangeMessages.Framing framing;
    private boolean expectContinue;
    /** The agent asked {@code Expect: 100-continue} and was not told to go on: it sends no body. */
    private boolean bodyWithheld;
    private boolean requestDone;
    private boolean responseStarted;
    private boolean responseDone;
    private boolean upstreamReusable;
    private boolean agentReadPending;
    private boolean upstreamReadPending;
    private long bodyBytes;
    private ScheduledFuture<?> responseTimer;
    private ChannelFuture lastWrite;
    private ExchangeAudit audit;
    private String protocol = "http";
    private boolean allowed;
    private boolean outcomeRecorded;
    private Integer upstreamStatus;
    private long bytesOut;
    private boolean headUnflushed;
    private boolean agentFlushPending;
    private String deniedCode;
    /** The approval a refused call waits for or was refused by (shown in the answer), or null. */
    private String approvalId;
    /** An HTTP/2 request with a gRPC content type: the sidecar's own answers take gRPC's form. */
    private boolean grpcClient;
    /** A request to the sidecar's own endpoints, answered off the event loop. */
    private LocalRequest local;
    /** A body read before anything is decided (an MCP POST, a task request), and what runs once it is in. */
    private BodyCollector collected;
    private Runnable onCollected;
    private McpPost mcpPost;
    /** On an MCP POST that asked tools/list: its answer is recorded (and filtered when the route says so). */
    private ToolsListTap toolsTap;
    /** On an MCP route: the session the request names, and the task the call was allowed under. */
    private String mcpSessionId;
    private String allowedTaskId;
    /** How the caller of this request proved its identity. */
    private IdentityProof proof;

    Exchange(FrontendHandler conn, ChannelHandlerContext ctx, ProxyRuntime rt, boolean http2) {
        this.conn = conn;
        this.ctx = ctx;
        this.rt = rt;
        this.http2 = http2;
    }

    // ---- request side ------------------------------------------------------------------------------------

    /** Starts with the request head; takes ownership of {@code req}. */
    void start(HttpRequest req) {
        log.debug("[{}] {} {}", ctx.channel().id(), req.method(), req.uri());
        CallSpans.Started span = rt.spans().start(req.headers().get(HopByHop.TRACEPARENT));
        trace = span.hop();
        audit = new ExchangeAudit(rt.audit(), rt.metrics(), rt.clock(), rt.auditMaxWaitNanos(), ctx.channel(),
                span.span());
        audit.describe(null, req.method().name(), req.uri(), trace);
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
                deny("DENY_MALFORMED", r, r.closes());
                return;
            }
            RequestTarget target;
            try {
                target = PathNormalizer.normalize(req.uri());
            } catch (RejectedTargetException e) {
                deny("DENY_MALFORMED", new RequestChecks.Refusal(ProxyError.BAD_REQUEST,
                        "refused request target: " + e.getMessage()), false);
                return;
            }
            RequestIdentity.Caller caller;
            try {
                caller = RequestIdentity.identify(audit.peer(), req.headers(), rt.jwt(), rt);
            } catch (RequestIdentity.Refused no) {
                deny(no.code.name(), new RequestChecks.Refusal(no.error, no.getMessage()), no.close);
                return;
            }
            audit.identify(caller.id(), caller.proof());
            SpiffeId agent = caller.id();
            proof = caller.proof();
            List<String> tokens = req.headers().getAll(HopByHop.TOOLGATE_TASK);
            if (tokens.size() > 1) {
                deny("DENY_MALFORMED", new RequestChecks.Refusal(ProxyError.BAD_REQUEST,
                        "more than one toolgate-task header (expected: one task token)"), false);
                return;
            }
            String token = tokens.isEmpty() ? null : tokens.get(0);
            if (TaskApi.handles(target.path())) {
                startLocal(req, target, agent, token, full);
                return;
            }
            RouteMatch match = rt.routes().match(target.path());
            audit.describe(match == null ? null : match.route().name(), req.method().name(), target.path(), trace);
            if (match == null) {
                deny("DENY_POLICY", new RequestChecks.Refusal(ProxyError.NO_ROUTE, "no route for " + target.path()),
                        false);
                return;
            }
            routeName = match.route().name();
            protocol = match.route().protocol();
            if (protocol.equals("mcp")) {
                mcpSessionId = req.headers().get(MCP_SESSION_ID);
                if (req.method().equals(HttpMethod.POST)) {
                    startMcp(req, match, target, agent, token, full);
                    return;
                }
            }
            Decision decision = checkSession(rt.decider().decide(agent, proof, token, match, req.method().name(),
                    new NettyRequestHeaders(req.headers())));
            audit.task(decision);
            if (decision instanceof Decision.Deny d) {
                approvalId = d.approvalId();
                deny(d.code().name(), refusal(d), false);
                return;
            }
            upstream = rt.upstreams().get(routeName);
            expectContinue = !http2 && req.headers().contains(HttpHeaderNames.EXPECT);
            outbound = ExchangeMessages.upstreamRequest(req, match, target, upstream, trace);
            if (full) {
                FullHttpRequest f = (FullHttpRequest) req;
                // The body moves on with the exchange; it is forwarded once the upstream channel is there.
                pendingBody = ExchangeMessages.withSafeTrailers(
                        new DefaultLastHttpContent(f.content().retain(), f.trailingHeaders()));
                bodyBytes = f.content().readableBytes();
            }
            forward((Decision.Allow) decision);
        } finally {
            ReferenceCountUtil.release(req);
        }
    }

    /**
     * An MCP session is used only by the identity and task that opened it: a session id the sidecar saw handed to
     * another agent or task is refused (session hijacking). Ids it never saw go on; the upstream judges them.
     */
    private Decision checkSession(Decision d) {
        if (mcpSessionId == null || !(d instanceof Decision.Allow a)) {
            return d;
        }
        McpSessions.Owner owner = rt.mcpSessions().owner(routeName, mcpSessionId);
        String agent = audit.agentId().uri();
        String task = a.task().task().id();
        if (owner == null || owner.agent().equals(agent) && owner.taskId().equals(task)) {
            return d;
        }
        rt.decider().authorizer().release(a); // not forwarded: its budget and approval are given back
        return new Decision.Deny(DecisionCode.DENY_IDENTITY_MISMATCH, "the MCP session was opened by another "
                + (owner.agent().equals(agent) ? "task" : "identity") + "; a session is not shared (session hijacking)",
                a.task());
    }

    private static RequestChecks.Refusal refusal(Decision.Deny d) {
        if (d.retryAfter() != null) {
            return new RequestChecks.Refusal(ProxyError.RATE_LIMITED, d.reason(), d.retryAfterSeconds());
        }
        return new RequestChecks.Refusal(d.code() == DecisionCode.ERROR_FAIL_CLOSED ? ProxyError.DECISION_FAILED
                : ProxyError.DENIED, d.reason());
    }

    // ---- MCP: judged by the JSON-RPC messages of the body ------------------------------------------------

    /** What an MCP POST needs once its body is in. */
    private record McpPost(SpiffeId agent, String token, RouteMatch match, RequestHeaders headers) {}

    /**
     * An MCP POST: its body is read (bounded) before anything is decided, because what it does is in the JSON-RPC
     * messages; nothing reaches the upstream until every message is allowed, and then the very bytes judged go.
     */
    private void startMcp(HttpRequest req, RouteMatch match, RequestTarget target, SpiffeId agent, String token,
                          boolean full) {
        int limit = rt.mcpParser().maxBytes();
        if (!McpParser.isMcpJson(req.headers().get(HttpHeaderNames.CONTENT_TYPE))) {
            denyMcp("DENY_MALFORMED", McpParseException.INVALID_REQUEST, 415,
                    "an MCP POST carries one JSON-RPC message or batch as application/json", null);
            return;
        }
        if (HttpUtil.getContentLength(req, 0L) > limit) {
            refuse(new RequestChecks.Refusal(ProxyError.BODY_TOO_LARGE, "MCP body larger than " + limit + " bytes"),
                    true);
            return;
        }
        upstream = rt.upstreams().get(routeName);
        outbound = ExchangeMessages.upstreamRequest(req, match, target, upstream, trace);
        // The head's headers stay as the agent sent them (the upstream request is a new message with its own
        // copy, and releasing the head frees only a body), so conditions read them after the body is in.
        mcpPost = new McpPost(agent, token, match, new NettyRequestHeaders(req.headers()));
        collectBody(req, full, limit, this::decideMcp);
    }

    /**
     * Reads the request body (at most {@code limit} bytes; more is refused 413 and the connection closed) before
     * anything is decided, then runs {@code then} with the body in {@link #collected}.
     */
    private void collectBody(HttpRequest req, boolean full, int limit, Runnable then) {
        collected = new BodyCollector(ctx.alloc(), limit);
        onCollected = then;
        state = State.COLLECTING;
        if (full) {
            collect(new DefaultLastHttpContent(((FullHttpRequest) req).content().retain()));
            return;
        }
        if (!http2 && HttpUtil.is100ContinueExpected(req)) {
            bodyWithheld = false;
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE),
                    ctx.voidPromise());
        }
        conn.readAgent();
    }

    private void collect(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        boolean fits = collected.add(content.content());
        content.release();
        if (!fits) {
            requestDone = last;
            int limit = collected.limit();
            releaseCollected();
            state = State.CONNECTING;
            refuse(new RequestChecks.Refusal(ProxyError.BODY_TOO_LARGE, "body larger than " + limit + " bytes"),
                    true);
            return;
        }
        if (!last) {
            conn.readAgent();
            return;
        }
        requestDone = true;
        state = State.CONNECTING;
        onCollected.run();
    }

    private void releaseCollected() {
        if (collected != null) {
            collected.release();
            collected = null;
        }
    }

    private void decideMcp() {
        McpRequest parsed;
        try {
            parsed = rt.mcpParser().parse(collected.bytes(), 0, collected.size());
        } catch (McpParseException e) {
            releaseCollected();
            denyMcp("DENY_MALFORMED", e.code(), 400, e.reason(), e.id());
            return;
        }
        CallDecider.McpDecisions judged = rt.decider().decideMcp(mcpPost.agent(), proof, mcpPost.token(),
                mcpPost.match(), parsed, mcpPost.headers());
        List<Decision> decisions = judged.decisions();
        Decision.Deny firstDenial = judged.firstDenial();
        audit.operation(judged.operation());
        audit.arguments(parsed, rt.capture(routeName));
        audit.task(judged.verdict());
        if (parsed.batch()) {
            List<AuditRecord.Element> elements = new ArrayList<>(decisions.size());
            for (int i = 0; i < decisions.size(); i++) {
                Decision d = decisions.get(i);
                elements.add(new AuditRecord.Element(parsed.messages().get(i).operation(), d.code().name(),
                        d instanceof Decision.Allow a ? a.grant().id() : null));
            }
            audit.elements(elements);
        }
        if (firstDenial != null) {
            releaseCollected();
            answerMcpDenial(parsed, decisions, firstDenial);
            return;
        }
        Decision session = checkSession(decisions.get(0));
        if (session instanceof Decision.Deny hijack) {
            for (Decision d : decisions.subList(1, decisions.size())) {
                if (d instanceof Decision.Allow a) {
                    rt.decider().authorizer().release(a);
                }
            }
            releaseCollected();
            audit.task(hijack);
            List<Decision> refused = new ArrayList<>(Collections.nCopies(decisions.size(), session));
            answerMcpDenial(parsed, refused, hijack);
            return;
        }
        ByteBuf body = collected.take();
        collected = null;
        bodyBytes = body.readableBytes();
        // The collected body goes in one piece with its length, however the agent framed it.
        outbound.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        HttpUtil.setContentLength(outbound, bodyBytes);
        pendingBody = new DefaultLastHttpContent(body);
        Decision.Allow allow = (Decision.Allow) decisions.get(0);
        ToolsList watched = ToolsList.watching(parsed, mcpPost.match().route().mcp().filters()
                ? visibleTools(allow.task()) : null);
        if (watched != null) {
            toolsTap = new ToolsListTap(watched, ctx.alloc(), TOOLS_LIST_MAX_BYTES, http2);
        }
        forward(allow);
    }

    /** The tools the task may see in a filtered {@code tools/list}: those it holds a live grant to call. */
    private Predicate<String> visibleTools(LiveTask task) {
        String route = routeName;
        return tool -> task.holds(route, "mcp:tools/call:" + tool, rt.clock().millis());
    }

    /**
     * Refuses an MCP POST in JSON-RPC's form: each request of the body gets an error with its own id (a batch is
     * refused whole when any element is denied: the others are not forwarded either); a body of notifications only
     * is answered 403 with one error.
     */
    private void answerMcpDenial(McpRequest parsed, List<Decision> decisions, Decision.Deny first) {
        String code = first.code().name();
        deniedCode = code;
        audit.decide(protocol, false, code, first.reason(), () -> {
            List<ObjectNode> answers = new ArrayList<>();
            for (int i = 0; i < parsed.messages().size(); i++) {
                McpMessage m = parsed.messages().get(i);
                if (m.notification() || m.response()) {
                    continue;
                }
                Decision d = decisions.get(i);
                answers.add(d instanceof Decision.Deny deny
                        ? JsonRpcAnswers.retryAfter(JsonRpcAnswers.error(m.id(), JsonRpcAnswers.DENIED,
                                "toolgate_denied", deny.code().name(), deny.reason(), audit.decisionId,
                                deny.approvalId()), deny.retryAfterSeconds())
                        : JsonRpcAnswers.error(m.id(), JsonRpcAnswers.DENIED, "toolgate_denied", code,
                                "not forwarded: another request of the batch was denied", audit.decisionId));
            }
            if (answers.isEmpty()) {
                answerJson(403, JsonRpcAnswers.bytes(JsonRpcAnswers.retryAfter(JsonRpcAnswers.error(null,
                        JsonRpcAnswers.DENIED, "toolgate_denied", code, first.reason(), audit.decisionId,
                        first.approvalId()), first.retryAfterSeconds())));
            } else {
                answerJson(200, parsed.batch() ? JsonRpcAnswers.batch(answers) : JsonRpcAnswers.bytes(answers.get(0)));
            }
        }, () -> refuse(refusal(first), true));
    }

    /** Audits and answers an MCP POST the sidecar could not read, as a JSON-RPC error. */
    private void denyMcp(String code, int rpcCode, int status, String reason, JsonNode id) {
        deniedCode = code;
        audit.decide(protocol, false, code, reason, () -> {
            answerJson(status, JsonRpcAnswers.bytes(JsonRpcAnswers.error(id, rpcCode, "bad_request", code, reason,
                    audit.decisionId)));
        }, () -> refuse(new RequestChecks.Refusal(ProxyError.BAD_REQUEST, reason), true));
    }

    /** The call is allowed: add the route's credential, write the decision record, then go to the upstream. */
    private void forward(Decision.Allow allow) {
        allowedTaskId = allow.task().task().id();
        try {
            rt.credentials().apply(routeName, claims(allow), outbound.headers()::set);
        } catch (CredentialException e) {
            log.warn("[{}] route {}: no upstream credential: {}", ctx.channel().id(), routeName, e.getMessage());
            rt.decider().authorizer().release(allow);
            deny("ERROR_FAIL_CLOSED", new RequestChecks.Refusal(ProxyError.DECISION_FAILED,
                    "the upstream credential for route " + routeName + " could not be produced; denied"), false);
            return;
        }
        // Nothing is forwarded before the decision record is accepted by the audit trail.
        audit.decide(protocol, true, "ALLOW", allow.reason(),
                () -> {
                    allowed = true;
                    if (state != State.CONNECTING) {
                        // The agent left while the decision waited for the audit trail: close the record pair.
                        recordOutcome("agent_closed", "the agent left before the call was forwarded");
                        return;
                    }
                    upstream.acquire(ctx.channel().eventLoop()).addListener(this::onAcquired);
                },
                () -> {
                    rt.decider().authorizer().release(allow);
                    failClosed();
                });
    }

    private static TaskClaims claims(Decision.Allow allow) {
        Task t = allow.task().task();
        return new TaskClaims(t.id(), t.subject().uri(), t.purpose(), t.expiresAt());
    }

    private void releaseBody() {
        if (pendingBody != null) {
            pendingBody.release();
            pendingBody = null;
        }
    }

    /** Audits a refusal decided on the request head, then answers it. */
    private void deny(String code, RequestChecks.Refusal r, boolean close) {
        deniedCode = code;
        audit.decide(protocol, false, code, r.reason(), () -> refuse(r, close), () -> refuse(r, true));
    }

    // ---- the sidecar's own endpoints ---------------------------------------------------------------------

    /** A request to {@code /_toolgate/...}: collect its (small) body, serve it off the event loop, answer. */
    private void startLocal(HttpRequest req, RequestTarget target, SpiffeId agent, String token, boolean full) {
        audit.describe(null, req.method().name(), target.path(), trace);
        if (HttpUtil.getContentLength(req, 0L) > TaskApi.MAX_BODY_BYTES) {
            refuse(new RequestChecks.Refusal(ProxyError.BODY_TOO_LARGE,
                    "body larger than " + TaskApi.MAX_BODY_BYTES + " bytes"), true);
            return;
        }
        local = new LocalRequest(agent, req.method().name(), target.path(), target.query(), token);
        collectBody(req, full, TaskApi.MAX_BODY_BYTES, this::serveLocal);
    }

    /** The body of a task request is in: serve it on the task executor (journal fsync), answer on the event loop. */
    private void serveLocal() {
        LocalRequest r = local;
        byte[] body = collected.bytes();
        releaseCollected();
        state = State.LOCAL;
        try {
            rt.taskExecutor().execute(() -> {
                TaskApi.Answer a = rt.taskApi().handle(r.agent(), r.method(), r.path(), r.query(), r.token(), body);
                ctx.executor().execute(() -> answerLocal(a));
            });
        } catch (RejectedExecutionException e) {
            answerLocal(TaskApi.error(503, "UNAVAILABLE", "the sidecar is shutting down"));
        }
    }

    private void answerLocal(TaskApi.Answer a) {
        if (state != State.LOCAL) {
            return; // the agent left meanwhile
        }
        local = null;
        audit.local(a.status());
        answerJson(a.status(), a.json());
    }

    /** Answers with a JSON body the sidecar made itself and ends the exchange. */
    private void answerJson(int status, byte[] json) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                ctx.alloc().buffer(json.length).writeBytes(json));
        HttpHeaders h = res.headers();
        h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, json.length)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        boolean close = !requestDone;
        if (!http2 && (close || !framing.keepAlive())) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        responseStarted = true;
        responseDone = true;
        lastWrite = ctx.writeAndFlush(res);
        finish(close);
    }

    /** The audit trail did not take the decision record in time: deny, and say so. */
    private void failClosed() {
        refuse(new RequestChecks.Refusal(ProxyError.AUDIT_UNAVAILABLE,
                "the call could not be audited in time (ERROR_FAIL_CLOSED)"), true);
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
            bodyWithheld = false;
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

    /** A part of the request body; takes ownership. */
    void onAgentContent(HttpContent content) {
        if (content.decoderResult().isFailure()) {
            // A body Netty could not frame (bad chunk line, oversize trailers): the request must not look complete
            // upstream, and nothing after it on this connection can be trusted.
            RequestChecks.Refusal r = RequestChecks.bodyDecoderFailure(content.decoderResult().cause());
            content.release();
            if (state == State.COLLECTING) {
                // A body read for inspection broke its framing: refused and audited, never forwarded.
                releaseCollected();
                state = State.CONNECTING;
                deny("DENY_MALFORMED", r, true);
                return;
            }
            if (responseStarted || state != State.FORWARDING && state != State.CONNECTING) {
                abort("malformed_body");
            } else {
                refuse(r, true);
            }
            return;
        }
        switch (state) {
            case FORWARDING -> forwardBody(content);
            case COLLECTING -> collect(content);
            case LOCAL -> content.release(); // the request was read in full before it was served
            case DISCARDING -> dropBodyPart(content);
            case CONNECTING -> {
                // Body is only read once the upstream is there; getting some now means the read discipline broke.
                // Dropping it silently would corrupt the request, so the exchange ends instead.
                content.release();
                log.warn("[{}] request body arrived before the upstream was ready; closing", ctx.channel().id());
                abort("internal_error");
            }
            case DONE -> content.release();
        }
    }

    private void forwardBody(HttpContent content) {
        bodyBytes += content.content().readableBytes();
        boolean last = content instanceof LastHttpContent;
        if (bodyBytes > rt.limits().maxBodyBytes()) {
            content.release();
            requestDone = last;
            if (responseStarted) {
                abort("body_too_large");
            } else {
                refuse(new RequestChecks.Refusal(ProxyError.BODY_TOO_LARGE,
                        "body larger than " + rt.limits().maxBodyBytes() + " bytes"), true);
            }
            return;
        }
        if (responseDone) {
            // The upstream already answered in full; the rest of the body has nowhere to go.
            dropBodyPart(content);
            return;
        }
        headUnflushed = false;
        upstreamCh.writeAndFlush(last ? ExchangeMessages.withSafeTrailers((LastHttpContent) content) : content,
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

    /** Reads and drops the rest of a request body the upstream will never see; the exchange ends with it. */
    private void dropBodyPart(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        content.release();
        if (last) {
            requestDone = true;
            finish(false);
        } else {
            conn.readAgent();
        }
    }

    private void readAgent() {
        if (upstreamCh.isWritable()) {
            conn.readAgent();
        } else {
            agentReadPending = true;
        }
    }

    @Override
    public void onUpstreamWritable() {
        if (agentReadPending && state == State.FORWARDING) {
            agentReadPending = false;
            conn.readAgent();
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
            upstreamStatus = res.status().code();
            if (mcpSessionId == null && protocol.equals("mcp")) {
                String sid = res.headers().get(MCP_SESSION_ID);
                if (sid != null) {
                    rt.mcpSessions().bind(routeName, sid, audit.agentId().uri(), allowedTaskId);
                }
            }
            upstreamReusable = HttpUtil.isKeepAlive(res);
            if (res instanceof FullHttpResponse full) {
                bytesOut += full.content().readableBytes();
            }
            HttpResponse out = ExchangeMessages.agentResponse(res, framing);
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
                responseDone = true;
                lastWrite = ctx.writeAndFlush(out);
                maybeComplete();
            } else {
                writeToAgent(out);
            }
            return;
        }
        HttpContent content = (HttpContent) msg;
        if (!responseStarted) {
            content.release();
            upstreamFailed(ProxyError.UPSTREAM_BAD_RESPONSE, "body before response head");
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
            responseDone = true;
            lastWrite = ctx.writeAndFlush(ExchangeMessages.withSafeResponseTrailers(last));
            maybeComplete();
        } else {
            writeToAgent(content);
        }
    }

    /**
     * Response parts are written as they come and flushed once per upstream read cycle (or with the last part):
     * a head and a small body then leave in one send and one TLS record instead of two.
     */
    private void writeToAgent(HttpObject part) {
        ctx.write(part, ctx.voidPromise());
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
            ctx.flush();
        }
        if (state == State.FORWARDING && !responseDone && upstreamCh != null) {
            readUpstream();
        }
    }

    private void readUpstream() {
        if (ctx.channel().isWritable()) {
            upstreamCh.read();
        } else {
            upstreamReadPending = true;
        }
    }

    /** The agent channel can take more: resume reading the upstream if that was held back. */
    void onAgentWritable() {
        if (upstreamReadPending && upstreamCh != null) {
            upstreamReadPending = false;
            upstreamCh.read();
        }
    }

    private void maybeComplete() {
        if (!requestDone) {
            // The upstream answered before the body ended (e.g. an early 413 or a gRPC status): the upstream
            // connection is out of step and is closed; on HTTP/1.1 the rest of the body is read and dropped.
            releaseUpstream(false);
            if (http2) {
                finish(true);
            } else {
                state = State.DISCARDING;
                conn.readAgent();
            }
            return;
        }
        releaseUpstream(upstreamReusable);
        finish(false);
    }

    /** Ends the exchange; {@code close} also ends the agent connection (HTTP/1.1) or stream (HTTP/2). */
    private void finish(boolean close) {
        cancelResponseTimer();
        recordOutcome("completed", null);
        state = State.DONE;
        conn.exchangeDone(this, close || !http2 && !framing.keepAlive(), lastWrite, !requestDone && !bodyWithheld);
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
            abort("upstream_reset");
        } else {
            upstreamFailed(ProxyError.UPSTREAM_RESET, "upstream closed the connection before responding");
        }
    }

    /**
     * A filtered {@code tools/list} answer could not be read: it is not passed on (fail closed). Before anything
     * was sent the agent gets a 502 saying so; after (an event stream), the exchange is cut.
     */
    private void toolsListRefused(String reason, boolean headSent) {
        log.warn("[{}] route {}: {}", ctx.channel().id(), routeName, reason);
        toolsTap.release();
        if (headSent) {
            abort("tools_list_refused");
        } else {
            responseStarted = false;
            upstreamFailed(ProxyError.UPSTREAM_BAD_RESPONSE, reason);
        }
    }

    private void upstreamFailed(ProxyError error, String reason) {
        log.debug("[{}] route {}: {}", ctx.channel().id(), routeName, reason);
        if (responseStarted) {
            abort(error.code);
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
     * Answers the request with a JSON error. {@code close} ends the connection (HTTP/1.1) or stream (HTTP/2)
     * after the answer; otherwise an unread HTTP/1.1 body is read and dropped so the connection stays usable.
     */
    private void refuse(RequestChecks.Refusal r, boolean close) {
        cancelResponseTimer();
        releaseUpstream(false);
        releaseBody();
        recordOutcome(r.error().code, r.reason());
        responseStarted = true;
        responseDone = true;
        boolean closeAfter = close || !framing.keepAlive() || http2 && !requestDone;
        FullHttpResponse res = grpcClient
                ? ErrorResponses.grpc(ctx.alloc(), r.error(), deniedCode, r.reason(), audit.decisionId, approvalId)
                : ErrorResponses.of(ctx.alloc(), r.error(), deniedCode, r.reason(), routeName, trace.traceId(),
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
    private void abort(String outcome) {
        recordOutcome(outcome, null);
        cancelResponseTimer();
        releaseUpstream(false);
        state = State.DONE;
        conn.abort(this);
    }

    /**
     * The agent's stream broke HTTP/2's framing rules after its head was accepted (DATA against
     * {@code content-length}, a malformed trailer): the request never completes upstream and the stream is reset.
     */
    void onAgentMalformed(String reason) {
        recordOutcome("malformed_body", reason);
        abort("malformed_body");
    }

    /** The agent went away: give everything back. */
    void onAgentClosed() {
        local = null;
        releaseCollected();
        recordOutcome("agent_closed", "the agent closed the connection or stream before the exchange ended");
        cancelResponseTimer();
        releaseUpstream(false);
        releaseBody();
        state = State.DONE;
    }

    /** The outcome record, once, for an allowed call (a denied one has only its decision record). */
    private void recordOutcome(String outcome, String reason) {
        if (allowed && !outcomeRecorded) {
            outcomeRecorded = true;
            if (toolsTap != null) {
                reason = toolsSeen(reason);
            }
            audit.outcome(upstreamStatus, outcome, reason, bodyBytes, bytesOut);
        }
    }

    /** Adds what the tools/list answer showed to the outcome's reason: tools seen, hidden, changed definitions. */
    private String toolsSeen(String reason) {
        ToolsList seen = toolsTap.tools();
        audit.tools(seen.digests());
        StringBuilder sb = new StringBuilder(reason == null ? "" : reason + "; ");
        sb.append("tools/list: ").append(seen.digests().size()).append(" tools");
        if (seen.filters()) {
            sb.append(", ").append(seen.hidden()).append(" hidden");
        }
        List<String> changed = rt.toolDigests().changed(routeName, seen.digests());
        if (!changed.isEmpty()) {
            log.warn("[{}] route {}: tool definitions changed since last listed: {}", ctx.channel().id(), routeName,
                    changed);
            sb.append("; definition changed since last listed: ").append(String.join(", ", changed));
        }
        if (toolsTap.note() != null) {
            sb.append("; ").append(toolsTap.note());
        }
        return sb.toString();
    }

    private void releaseUpstream(boolean reusable) {
        Channel ch = upstreamCh;
        upstreamCh = null;
        if (ch != null) {
            upstream.release(ch, reusable && requestDone && responseDone);
        }
    }
}
