package dev.toolgate.cli;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.admission.Admission;
import dev.toolgate.admission.AdmissionRequest;
import dev.toolgate.admission.Step;
import dev.toolgate.approval.Approvals;
import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.authz.Authorizer;
import dev.toolgate.authz.CallDecider;
import dev.toolgate.authz.Decision;
import dev.toolgate.call.RequestHeaders;
import dev.toolgate.call.RouteTable;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskAudit;
import dev.toolgate.grant.TaskException;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.mcp.McpSessions;
import dev.toolgate.policy.PolicySet;
import dev.toolgate.policy.Verdict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Decides {@link PolicyCase}s offline exactly as the sidecar would: each case gets a fresh in-memory task registry
 * ({@link MemoryTaskStore}) under the policy, its task is started through {@link TaskRegistry#start} (so the grant
 * checks at task start apply), its history is replayed onto the live task, and the call goes through the sidecar's
 * {@link Admission} ({@code head}, then {@code body} for an MCP POST) with the sidecar's {@link Authorizer}. Nothing
 * here decides: it only translates a case into the request a front end would hand to {@code Admission}.
 *
 * <p>Not thread-safe across cases run at once (each case is decided alone); throws {@link IllegalArgumentException}
 * for a case that names a route the set does not have.
 */
final class PolicyBench {
    /** The outcome of a case whose task could not be started (its grants lie outside policy, for instance). */
    static final String START_REFUSED = "TASK_START_REFUSED";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<RouteConfig> routes;
    private final Map<String, RouteConfig> byName = new HashMap<>();
    private final Map<String, Set<String>> labels = new HashMap<>();
    private final Map<String, ArgumentCapture> captures = new HashMap<>();
    private final PolicySet policy;

    PolicyBench(List<RouteConfig> routes, PolicySet policy) {
        this.routes = List.copyOf(routes);
        this.policy = requireNonNull(policy, "policy");
        for (RouteConfig r : this.routes) {
            byName.put(r.name(), r);
            labels.put(r.name(), Set.copyOf(r.labels()));
            captures.put(r.name(), ArgumentCapture.of(r.audit()));
        }
    }

    PolicySet policy() {
        return policy;
    }

    /** The routes the cases are decided on. */
    List<RouteConfig> routes() {
        return routes;
    }

    /** The route named {@code name}, or null. */
    RouteConfig route(String name) {
        return byName.get(name);
    }

    /**
     * What the sidecar decided about a case.
     *
     * @param code      the decision code, or {@link #START_REFUSED}
     * @param rule      the policy rule that decided ({@code document/rule}), or null when no rule did
     * @param reason    the reason the agent would be told
     * @param operation the operation as the audit record names it, or null when the task did not start
     * @param route     the matched route, or null
     */
    record Outcome(String code, String rule, String reason, String operation, String route) {}

    /** Decides {@code c}. */
    Outcome decide(PolicyCase c) {
        Clock clock = Clock.fixed(c.at(), ZoneOffset.UTC);
        Ticker ticker = () -> TimeUnit.MILLISECONDS.toNanos(c.at().toEpochMilli());
        try (TaskRegistry tasks = TaskRegistry.open(TasksConfig.defaults(), AccessConfig.defaults(),
                new MemoryTaskStore(), byName.keySet(), clock, ticker, TaskAudit.NONE, () -> policy)) {
            String token = null;
            if (c.grants() != null) {
                TaskRegistry.Started started;
                try {
                    started = tasks.start(c.caller(), new StartRequest(null, c.purpose(), null, c.grants()));
                } catch (TaskException e) {
                    return new Outcome(START_REFUSED, refusingRule(c), e.getMessage(), null, null);
                }
                replay(started.task(), c.labels(), c.calls());
                token = started.token();
            }
            Authorizer authorizer = new Authorizer(tasks, labels, Approvals.withDefaults(clock), captures);
            Admission admission = new Admission(RouteTable.of(routes), new CallDecider(authorizer),
                    route -> captures.getOrDefault(route, ArgumentCapture.NONE), new McpParser(), new McpSessions(),
                    clock);
            Request r = request(c.call());
            Map<String, List<String>> headers = new LinkedHashMap<>(r.headers);
            if (token != null) {
                headers.put(Admission.TASK_HEADER, List.of(token));
            }
            Step step = admission.head(new AdmissionRequest(r.method, r.target, new Headers(headers), c.caller(),
                    c.proof(), false));
            if (step instanceof Step.NeedsBody pending) {
                if (r.body == null) {
                    step = pending.malformed("an MCP POST is given as route and an mcp: operation (with arguments)");
                } else {
                    step = admission.body(pending, r.body, 0, r.body.length);
                }
            }
            return outcome(step);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // closing a memory store does no I/O
        }
    }

    /**
     * The policy rule that refused a grant of {@code c} at task start, for the report of exercised rules: the
     * refusal itself came from {@link TaskRegistry#start}; this asks the same policy which rule it was.
     */
    private String refusingRule(PolicyCase c) {
        for (GrantRequest g : c.grants()) {
            Duration ttl = g.ttl() != null ? g.ttl() : TasksConfig.defaults().defaultTtl();
            try {
                Verdict v = policy.checkGrant(c.caller(), g.route(), g.operations(), ttl, g.budget());
                if (!v.forwards()) {
                    return v.rule();
                }
            } catch (RuntimeException e) {
                return null;
            }
        }
        return null;
    }

    private static Outcome outcome(Step step) {
        Decision d = step.intent().decision();
        String rule = d == null || d.policy() == null ? null : d.policy().replaceFirst("@[^@]*$", "");
        String code;
        String reason;
        if (step instanceof Step.Admitted a) {
            code = a.allow().code().name();
            reason = a.allow().reason();
        } else if (step instanceof Step.Refused f) {
            code = f.code().name();
            reason = f.reason();
        } else {
            code = "DENY_MALFORMED";
            reason = "a call to the sidecar's own task endpoints is not a tool call";
        }
        return new Outcome(code, rule, reason, step.intent().operation(), step.intent().route());
    }

    /** The task's history: {@code calls} forwarded calls that touched routes labelled {@code touched}. */
    private static void replay(LiveTask task, Set<String> touched, long calls) {
        if (calls > 0) {
            task.touched(touched);
        }
        for (long i = 1; i < calls; i++) {
            task.touched(Set.of());
        }
    }

    /** The request a front end would hand to admission. */
    private record Request(String method, String target, Map<String, List<String>> headers, byte[] body) {}

    private Request request(PolicyCase.CallSpec s) {
        Map<String, List<String>> headers = new LinkedHashMap<>(s.headers());
        if (s.target() != null) {
            return new Request(s.method() == null ? "GET" : s.method().toUpperCase(Locale.ROOT), s.target(), headers,
                    null);
        }
        RouteConfig route = byName.get(s.route());
        if (route == null) {
            throw new IllegalArgumentException("call.route: \"" + s.route() + "\" is not a configured route");
        }
        String op = s.operation().trim();
        if (op.startsWith("mcp:")) {
            if (route.protocol() != Protocol.MCP) {
                throw new IllegalArgumentException("call.operation: " + op + " on route " + route.name()
                        + ", which is " + route.protocol().configName() + " (expected: an MCP route)");
            }
            headers.putIfAbsent("content-type", List.of("application/json"));
            headers.putIfAbsent("accept", List.of("application/json, text/event-stream"));
            return new Request("POST", route.prefix(), headers, mcpBody(op.substring(4), s.arguments()));
        }
        if (op.startsWith("grpc:")) {
            headers.putIfAbsent("content-type", List.of("application/grpc"));
            return new Request("POST", "/" + op.substring(5), headers, null);
        }
        int space = op.indexOf(' ');
        if (space < 1) {
            throw new IllegalArgumentException("call.operation: \"" + op + "\" (expected: METHOD /path, grpc:... or"
                    + " mcp:...)");
        }
        String path = op.substring(space + 1).trim();
        String prefix = route.prefix() == null ? "" : route.prefix();
        return new Request(op.substring(0, space), path.equals("/") && !prefix.isEmpty() ? prefix : prefix + path,
                headers, null);
    }

    /** One JSON-RPC message for an MCP operation ({@code tools/call:<tool>}, {@code resources/read:<uri>}, ...). */
    private static byte[] mcpBody(String op, JsonNode arguments) {
        ObjectNode msg = JSON.createObjectNode().put("jsonrpc", "2.0");
        ObjectNode params = JSON.createObjectNode();
        String method = op;
        for (String m : List.of("tools/call:", "prompts/get:", "resources/read:")) {
            if (op.startsWith(m)) {
                method = m.substring(0, m.length() - 1);
                String name = op.substring(m.length());
                params.put(m.equals("resources/read:") ? "uri" : "name", name);
                if (!m.equals("resources/read:")) {
                    params.set("arguments", arguments == null ? JSON.createObjectNode() : arguments);
                }
            }
        }
        if (!method.startsWith("notifications/")) {
            msg.put("id", 1);
        }
        msg.put("method", method).set("params", params);
        return msg.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The case's headers as a front end's view of them. */
    private static final class Headers implements RequestHeaders {
        private final Map<String, List<String>> headers;

        Headers(Map<String, List<String>> headers) {
            this.headers = headers;
        }

        @Override
        public String host() {
            List<String> h = headers.get("host");
            return h == null || h.isEmpty() ? null : h.get(0);
        }

        @Override
        public Map<String, String> asMap() {
            Map<String, String> out = new LinkedHashMap<>();
            headers.forEach((k, v) -> out.put(k, String.join(", ", v)));
            return out;
        }

        @Override
        public List<String> values(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null ? List.of() : new ArrayList<>(v);
        }
    }
}
