package dev.toolgate.admission;

import static java.util.Objects.requireNonNull;

import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.audit.AuditRecord;
import dev.toolgate.authz.CallDecider;
import dev.toolgate.authz.Decision;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.call.HeaderNames;
import dev.toolgate.call.PathNormalizer;
import dev.toolgate.call.RejectedTargetException;
import dev.toolgate.call.RequestTarget;
import dev.toolgate.call.RouteMatch;
import dev.toolgate.call.RouteTable;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.McpLimitsConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.mcp.McpParseException;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.mcp.McpRequest;
import dev.toolgate.mcp.McpSessions;
import dev.toolgate.mcp.ToolsList;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Judges requests for every front end: refuses header names outside the token grammar ({@link HeaderNames}) and
 * headers that override the method or path ({@code OverrideHeaders}), normalizes the target, reads the one task
 * token, matches the route, parses an MCP POST's JSON-RPC body, asks the authorizer (failing closed), keeps an MCP
 * session to the identity and task that opened it, and gives back what an admitted call took (budget, approval use)
 * when it is not forwarded after all. One per route set: it answers with the routes and authorizer of that set.
 *
 * <p>Steps: {@link #head} with what the request head says; an MCP POST then needs {@link #body}. Each step
 * returns a {@link Step}: admitted, refused (with its code and protocol-native answer), waiting for the body, or
 * a request for the sidecar's own endpoints. What the front end writes to the audit trail is the step's
 * {@link Intent}.
 *
 * <p>Thread-safe; never blocks (except where the authorizer spends a shared budget); throws only
 * {@link NullPointerException} for a missing argument: a decision that cannot be made is a refusal.
 */
public final class Admission {
    /** The header the task token travels in. */
    public static final String TASK_HEADER = "toolgate-task";
    /** The MCP session header (Streamable HTTP). */
    public static final String MCP_SESSION_ID = "mcp-session-id";
    private static final String LOCAL_PREFIX = "/_toolgate";

    private final RouteTable routes;
    private final CallDecider decider;
    private final Function<String, ArgumentCapture> captures;
    private final McpParser mcpParser;
    /** Parsers of the routes whose {@code mcp.limits} differ from the sidecar's defaults, by route name. */
    private final Map<String, McpParser> routeParsers = new ConcurrentHashMap<>();
    private final McpSessions sessions;
    private final Clock clock;

    /**
     * @param routes    the route set's table
     * @param decider   the route set's decider (its authorizer knows the routes' labels)
     * @param captures  what the audit records of each route's call arguments
     * @param mcpParser how MCP bodies are read (and the largest one read) on a route with the default
     *                  {@code mcp.limits}; a route with its own limits gets its own parser
     * @param sessions  the sidecar's MCP session bindings
     * @param clock     the time grants are checked at when a {@code tools/list} answer is filtered
     */
    public Admission(RouteTable routes, CallDecider decider, Function<String, ArgumentCapture> captures,
                     McpParser mcpParser, McpSessions sessions, Clock clock) {
        this.routes = requireNonNull(routes, "routes");
        this.decider = requireNonNull(decider, "decider");
        this.captures = requireNonNull(captures, "captures");
        this.mcpParser = requireNonNull(mcpParser, "mcpParser");
        this.sessions = requireNonNull(sessions, "sessions");
        this.clock = requireNonNull(clock, "clock");
    }

    /** Judges a request by its head; an MCP POST comes back as {@link Step.NeedsBody}. */
    public Step head(AdmissionRequest r) {
        requireNonNull(r, "r");
        Intent intent = Intent.of(r.method(), r.target());
        if (r.agent() == null) {
            return refused(intent, DecisionCode.DENY_NO_IDENTITY,
                    "no verified workload identity (no SPIFFE ID was proven for this request)");
        }
        String badName = HeaderNames.refusal(r.headers());
        if (badName != null) {
            return refused(intent, DecisionCode.DENY_MALFORMED, badName);
        }
        String override = OverrideHeaders.present(r.headers());
        if (override != null) {
            return refused(intent, DecisionCode.DENY_MALFORMED, "header " + override + " asks the backend for"
                    + " another method or path than the request line names (the grant and the audit record name the"
                    + " request line); send the call without it");
        }
        RequestTarget target;
        try {
            target = PathNormalizer.normalize(r.target());
        } catch (RejectedTargetException e) {
            return refused(intent, DecisionCode.DENY_MALFORMED, "refused request target: " + e.getMessage());
        }
        List<String> tokens = r.headers().values(TASK_HEADER);
        if (tokens.size() > 1) {
            return refused(intent, DecisionCode.DENY_MALFORMED,
                    "more than one toolgate-task header (expected: one task token)");
        }
        String token = tokens.isEmpty() ? null : tokens.get(0);
        if (r.localApi() && (target.path().startsWith(LOCAL_PREFIX + "/") || target.path().equals(LOCAL_PREFIX))) {
            return new Step.Local(intent.matched(null, Protocol.HTTP, r.method() + " " + target.path()), target, token);
        }
        RouteMatch match = routes.match(target.path());
        if (match == null) {
            return new Step.Refused(intent.matched(null, Protocol.HTTP, r.method() + " " + target.path()),
                    DecisionCode.DENY_POLICY, "no route for " + target.path(), Step.Answer.NO_ROUTE, null);
        }
        Protocol protocol = match.route().protocol();
        intent = intent.matched(match.route().name(), protocol, r.method() + " " + target.path());
        String sessionId = protocol == Protocol.MCP ? r.headers().first(MCP_SESSION_ID) : null;
        if (protocol == Protocol.MCP && r.method().equals("POST")) {
            if (!McpParser.isMcpJson(r.headers().first("content-type"))) {
                return new Step.Refused(intent, DecisionCode.DENY_MALFORMED,
                        "an MCP POST carries one JSON-RPC message or batch as application/json",
                        Step.Answer.UNSUPPORTED_MEDIA_TYPE,
                        new Step.JsonRpc(null, List.of(), McpParseException.INVALID_REQUEST, null));
            }
            return new Step.NeedsBody(intent, r, match, target, token, sessionId, parser(match.route()).maxBytes());
        }
        Decision d = decider.decide(r.agent(), r.proof(), token, match, r.method(), r.headers());
        intent = intent.decided(d);
        if (d instanceof Decision.Allow allow) {
            return sessionChecked(new Step.Admitted(intent, allow, List.of(allow), match, target, sessionId, null,
                    null), null, r.agent().uri());
        }
        return refused(intent, (Decision.Deny) d);
    }

    /**
     * Judges an MCP POST by its body ({@code length} bytes at {@code offset}): every JSON-RPC message must be
     * allowed for the request to be admitted.
     */
    public Step body(Step.NeedsBody pending, byte[] body, int offset, int length) {
        requireNonNull(pending, "pending");
        requireNonNull(body, "body");
        if (length > pending.maxBytes()) {
            return pending.tooLarge();
        }
        Intent intent = pending.intent();
        McpRequest parsed;
        try {
            parsed = parser(pending.match().route()).parse(body, offset, length);
        } catch (McpParseException e) {
            return new Step.Refused(intent, DecisionCode.DENY_MALFORMED, e.reason(), Step.Answer.DECIDED,
                    new Step.JsonRpc(null, List.of(), e.code(), e.id()));
        }
        AdmissionRequest r = pending.request();
        RouteMatch match = pending.match();
        CallDecider.McpDecisions judged = decider.decideMcp(r.agent(), r.proof(), pending.token(), match, parsed,
                r.headers());
        List<Decision> decisions = judged.decisions();
        List<AuditRecord.Element> elements = null;
        if (parsed.batch()) {
            elements = new ArrayList<>(decisions.size());
            for (int i = 0; i < decisions.size(); i++) {
                Decision d = decisions.get(i);
                elements.add(new AuditRecord.Element(parsed.messages().get(i).operation(), d.code().name(),
                        d instanceof Decision.Allow a ? a.grant().id() : null));
            }
        }
        intent = intent.mcp(judged.operation(), captures.apply(match.route().name()).record(parsed), elements)
                .decided(judged.verdict());
        if (judged.firstDenial() != null) {
            return new Step.Refused(intent, judged.firstDenial().code(), judged.firstDenial().reason(),
                    answer(judged.firstDenial()), new Step.JsonRpc(parsed, decisions, 0, null));
        }
        List<Decision.Allow> allows = decisions.stream().map(Decision.Allow.class::cast).toList();
        Decision.Allow first = allows.get(0);
        ToolsList watched = ToolsList.watching(parsed, match.route().mcp().filters()
                ? visibleTools(match.route().name(), first.task()) : null);
        return sessionChecked(new Step.Admitted(intent, first, allows, match, pending.target(), pending.sessionId(),
                parsed, watched), parsed, r.agent().uri());
    }

    /** The parser that reads MCP bodies of {@code route}, with its {@code mcp.limits}. */
    private McpParser parser(RouteConfig route) {
        McpLimitsConfig limits = route.mcp().limits();
        if (limits.equals(McpLimitsConfig.DEFAULTS)) {
            return mcpParser;
        }
        return routeParsers.computeIfAbsent(route.name(), name -> new McpParser(limits.maxBodyBytes(),
                limits.maxDepth(), limits.maxStringChars(), limits.maxBatch()));
    }

    /**
     * The upstream handed out {@code sessionId} in its answer to an admitted call that presented none: the session
     * is bound to that call's identity and task (the first binding wins).
     */
    public void sessionOpened(Step.Admitted admitted, String agent, String sessionId) {
        sessions.bind(admitted.route(), sessionId, agent, admitted.allow().task().task().id());
    }

    /**
     * An admitted call is not forwarded after all (its credential or decision record failed): what its allows took
     * (budget, approval use) is given back.
     */
    public void giveBack(Step.Admitted admitted) {
        for (Decision.Allow a : admitted.allows()) {
            decider.authorizer().release(a);
        }
    }

    /**
     * An MCP session is used only by the identity and task that opened it: a session id the sidecar saw handed to
     * another agent or task is refused (session hijacking), and what the call took is given back.
     */
    private Step sessionChecked(Step.Admitted admitted, McpRequest parsed, String agent) {
        if (admitted.sessionId() == null) {
            return admitted;
        }
        McpSessions.Owner owner = sessions.owner(admitted.route(), admitted.sessionId());
        LiveTask task = admitted.allow().task();
        if (owner == null || owner.agent().equals(agent) && owner.taskId().equals(task.task().id())) {
            return admitted;
        }
        giveBack(admitted);
        Decision.Deny hijack = new Decision.Deny(DecisionCode.DENY_IDENTITY_MISMATCH, "the MCP session was opened by"
                + " another " + (owner.agent().equals(agent) ? "task" : "identity")
                + "; a session is not shared (session hijacking)", task);
        Intent intent = admitted.intent().decided(hijack);
        Step.JsonRpc rpc = parsed == null ? null
                : new Step.JsonRpc(parsed, Collections.nCopies(parsed.messages().size(), hijack), 0, null);
        return new Step.Refused(intent, hijack.code(), hijack.reason(), Step.Answer.DECIDED, rpc);
    }

    /** The tools the task may see in a filtered {@code tools/list}: those it holds a live grant to call. */
    private Predicate<String> visibleTools(String route, LiveTask task) {
        return tool -> task.holds(route, "mcp:tools/call:" + tool, clock.millis());
    }

    private static Step.Refused refused(Intent intent, DecisionCode code, String reason) {
        return new Step.Refused(intent, code, reason, Step.Answer.DECIDED, null);
    }

    private static Step.Refused refused(Intent intent, Decision.Deny deny) {
        return new Step.Refused(intent, deny.code(), deny.reason(), answer(deny), null);
    }

    private static Step.Answer answer(Decision.Deny deny) {
        return deny.retryAfter() != null ? Step.Answer.RATE_LIMITED : Step.Answer.DECIDED;
    }
}
