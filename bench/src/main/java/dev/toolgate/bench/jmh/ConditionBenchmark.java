package dev.toolgate.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.policy.CallFacts;
import dev.toolgate.policy.Condition;
import dev.toolgate.policy.ConditionException;
import dev.toolgate.policy.PolicyException;
import dev.toolgate.policy.PolicyLoader;
import dev.toolgate.policy.PolicySet;
import dev.toolgate.policy.Verdict;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A CEL condition alone ({@link Condition#evaluate}) and a whole policy decision ({@link PolicySet#evaluate}) for a
 * realistic policy: 100 documents loaded from files by {@link PolicyLoader} (one per agent group, subjects
 * {@code spiffe://bench.dev/agents/a<i>/*}), 1,000 allow rules over 100 routes (half MCP, half HTTP; every second
 * MCP rule with a {@code when}), 200 deny rules and 100 flow rules. The calls are prepared once; their
 * {@code mcp.arguments} are a Jackson {@code ObjectNode}, as the data plane passes them.
 *
 * <p>{@code AverageTime} for ns/op (B/op with {@code -prof gc}), {@code SampleTime} for p50/p99 (the issue's goal
 * for a grant match with a condition: p50 <= 1 us, p99 <= 5 us).
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ConditionBenchmark {
    static final String EXPRESSION = "has(mcp.arguments.repo) && mcp.arguments.repo.startsWith(\"acme/\")";
    static final int DOCUMENTS = 100;
    static final int ROUTES = 100;
    static final int RULES_PER_DOCUMENT = 10;
    /** The agent group the calls come from: its document is the 43rd of 100 in load order. */
    static final int AGENT = 42;

    private Condition condition;
    private PolicySet policy;
    private Facts toolCall;
    private Facts deniedCall;

    @Setup
    public void setup() throws IOException, PolicyException, ConditionException {
        condition = Condition.compile(EXPRESSION);
        List<RouteConfig> routes = new ArrayList<>();
        for (int r = 0; r < ROUTES; r++) {
            routes.add(route(r));
        }
        Path dir = Files.createTempDirectory("toolgate-bench-policy");
        try {
            for (int i = 0; i < DOCUMENTS; i++) {
                Files.writeString(dir.resolve(String.format("agents-a%03d.yaml", i)), document(i));
            }
            policy = PolicyLoader.load(List.of(dir), routes);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode args = mapper.createObjectNode();
        args.put("repo", "acme/widgets");
        args.put("query", "is:open label:bug sort:updated-desc");
        args.put("limit", 25);
        args.putObject("filters").put("state", "open").putArray("labels").add("bug").add("triage");
        SpiffeId agent = SpiffeId.parse("spiffe://bench.dev/agents/a" + AGENT + "/worker-7");
        // The last route of the agent's document is an MCP route; its allow rule has the `when`.
        int route = lastMcpRoute(AGENT);
        toolCall = new Facts(agent, "r" + route, labels(route), "mcp:tools/call:search_issues", "tools/call",
                "search_issues", args);
        deniedCall = new Facts(agent, "r" + route, labels(route), "mcp:tools/call:delete_repo", "tools/call",
                "delete_repo", args);
        // Fail fast if the policy does not decide as the benchmark names say.
        if (!condition.evaluate(toolCall)) {
            throw new IllegalStateException("condition does not hold");
        }
        Verdict allowed = policy.evaluate(toolCall);
        String whenRule = "agents-a" + AGENT + "/allow[" + lastMcpRule(AGENT) + "]";
        if (!allowed.allow() || !whenRule.equals(allowed.rule())) {
            throw new IllegalStateException("expected the when rule to allow: " + allowed);
        }
        Verdict denied = policy.evaluate(deniedCall);
        if (denied.allow() || denied.code() != DecisionCode.DENY_POLICY || denied.rule() == null) {
            throw new IllegalStateException("expected a deny rule to deny: " + denied);
        }
    }

    /** Route {@code r<k>}: even ones MCP (source code, external), odd ones HTTP; every tenth also PII. */
    static RouteConfig route(int k) {
        UpstreamConfig up = new UpstreamConfig(URI.create("http://127.0.0.1:" + (20000 + k)), null, null);
        return new RouteConfig("r" + k, (k % 2 == 0 ? "/mcp/r" : "/api/r") + k, null,
                k % 2 == 0 ? Protocol.MCP : Protocol.HTTP, up, List.copyOf(labels(k)), null, null);
    }

    static Set<String> labels(int k) {
        if (k % 10 == 9) {
            return Set.of("pii");
        }
        return k % 2 == 0 ? Set.of("source-code", "external") : Set.of("internal");
    }

    /** The route of rule {@code j} of document {@code i}: ten distinct routes, alternating MCP (even) and HTTP (odd). */
    static int routeOf(int i, int j) {
        return (i + 11 * j) % ROUTES;
    }

    static int lastMcpRoute(int i) {
        return routeOf(i, lastMcpRule(i));
    }

    /** The index of the last allow rule of document {@code i} on an MCP route (the one with the condition). */
    static int lastMcpRule(int i) {
        for (int j = RULES_PER_DOCUMENT - 1; j >= 0; j--) {
            if (routeOf(i, j) % 2 == 0) {
                return j;
            }
        }
        throw new IllegalStateException("document " + i + " has no MCP route");
    }

    /**
     * Document {@code i}: ten allow rules (MCP: discovery and two tools, the last MCP rule of the document with the
     * condition; HTTP: issue paths), two deny rules on its MCP routes, one flow rule.
     */
    static String document(int i) {
        StringBuilder y = new StringBuilder();
        y.append("kind: Policy\n")
                .append("name: agents-a").append(i).append('\n')
                .append("subjects: [\"spiffe://bench.dev/agents/a").append(i).append("/*\"]\n")
                .append("allow:\n");
        int last = lastMcpRoute(i);
        List<Integer> mcpRoutes = new ArrayList<>();
        for (int j = 0; j < RULES_PER_DOCUMENT; j++) {
            int r = routeOf(i, j);
            y.append("  - route: r").append(r).append('\n');
            if (r % 2 == 0) {
                mcpRoutes.add(r);
                if (r == last) {
                    y.append("    operations: [\"mcp:tools/call:search_issues\", \"mcp:tools/call:get_issue\","
                            + " \"mcp:tools/call:delete_repo\"]\n");
                    y.append("    when: '").append(EXPRESSION).append("'\n");
                } else {
                    y.append("    operations: [\"mcp:tools/list\", \"mcp:initialize\", \"mcp:tools/call:t")
                            .append(j).append("_*\"]\n");
                }
            } else {
                y.append("    operations: [\"GET /repos/*/issues\", \"GET /repos/*/issues/*\","
                        + " \"POST /repos/*/issues/**\"]\n");
                y.append("    maxTtl: 1h\n");
            }
        }
        y.append("deny:\n");
        for (int d = 0; d < 2; d++) {
            y.append("  - route: r").append(mcpRoutes.get(mcpRoutes.size() - 1 - d)).append('\n')
                    .append("    operations: [\"mcp:tools/call:delete_").append(d == 0 ? "repo" : "branch")
                    .append("\"]\n")
                    .append("    reason: \"never delete\"\n");
        }
        y.append("flows:\n")
                .append("  - after: [pii]\n")
                .append("    deny: [external]\n")
                .append("    reason: \"no PII to external tools\"\n");
        return y.toString();
    }

    @Benchmark
    public boolean condition() throws ConditionException {
        return condition.evaluate(toolCall);
    }

    @Benchmark
    public Verdict policyAllowWithCondition() throws ConditionException {
        return policy.evaluate(toolCall);
    }

    @Benchmark
    public Verdict policyDenyRule() throws ConditionException {
        return policy.evaluate(deniedCall);
    }

    /** One MCP {@code tools/call}, as the data plane describes it: fixed values, nothing computed per call. */
    static final class Facts implements CallFacts {
        private static final Instant NOW = Instant.parse("2026-11-28T12:00:00Z");
        private static final Map<String, String> HEADERS = Map.of("content-type", "application/json",
                "accept", "application/json, text/event-stream", "mcp-session-id", "3f1c2a9e");
        private static final Set<String> HISTORY = Set.of("source-code", "internal");

        private final SpiffeId agent;
        private final String route;
        private final Set<String> routeLabels;
        private final String operation;
        private final String mcpMethod;
        private final String tool;
        private final Object arguments;

        Facts(SpiffeId agent, String route, Set<String> routeLabels, String operation, String mcpMethod, String tool,
              Object arguments) {
            this.agent = agent;
            this.route = route;
            this.routeLabels = routeLabels;
            this.operation = operation;
            this.mcpMethod = mcpMethod;
            this.tool = tool;
            this.arguments = arguments;
        }

        @Override public SpiffeId agent() { return agent; }
        @Override public String route() { return route; }
        @Override public Set<String> routeLabels() { return routeLabels; }
        @Override public String operation() { return operation; }
        @Override public String method() { return "POST"; }
        @Override public String path() { return "/"; }
        @Override public String host() { return "127.0.0.1:15001"; }
        @Override public Map<String, String> headers() { return HEADERS; }
        @Override public String mcpMethod() { return mcpMethod; }
        @Override public String mcpTool() { return tool; }
        @Override public Object mcpArguments() { return arguments; }
        @Override public String taskId() { return "tsk_01HV8ZQK3Y4R1"; }
        @Override public String taskPurpose() { return "triage open bugs"; }
        @Override public Set<String> taskLabels() { return HISTORY; }
        @Override public long taskCalls() { return 12; }
        @Override public Instant now() { return NOW; }
    }
}
