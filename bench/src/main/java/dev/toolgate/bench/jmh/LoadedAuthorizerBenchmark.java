package dev.toolgate.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.authz.Authorizer;
import dev.toolgate.authz.Decision;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.call.Call;
import dev.toolgate.common.Protocol;
import dev.toolgate.mcp.McpMessage;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskAudit;
import dev.toolgate.grant.TaskException;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.policy.PolicyException;
import dev.toolgate.policy.PolicyLoader;
import dev.toolgate.policy.PolicySet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The whole {@link Authorizer#decide} for a realistic loaded sidecar (issue 8): a {@link PolicySet} of 100
 * documents loaded from YAML files by {@link PolicyLoader} (one per agent group, so 100 subjects; 1,000 allow rules
 * over 100 routes, 200 deny rules, 100 flow rules; the same shape as {@link ConditionBenchmark}'s policy), a real
 * {@link TaskRegistry} whose grants were checked against that policy at start, and 10,000 live tasks of 100 agents.
 * Every decision is a cache hit of the registry, then the grant match, then the policy decision.
 *
 * <ul>
 * <li>{@code allowHttp}: {@code GET /repos/<r>/issues} on an HTTP route, allowed by a task grant and an allow rule
 *     without condition (with {@code maxTtl}).</li>
 * <li>{@code allowMcpCondition}: an MCP {@code tools/call} whose allow rule has the CEL condition
 *     {@code has(mcp.arguments.repo) && mcp.arguments.repo.startsWith("acme/")} over the call's arguments (a
 *     Jackson {@code ObjectNode}, as the data plane passes them).</li>
 * <li>{@code denyPolicy}: an MCP {@code tools/call:delete_branch} that the task's grant ({@code tools/call:*})
 *     covers and a deny rule of the policy denies ({@code DENY_POLICY}).</li>
 * <li>{@code denyFlow}: the MCP tool call of {@code allowMcpCondition} from a task that touched a PII route before,
 *     denied by the flow rule ({@code DENY_FLOW}).</li>
 * </ul>
 *
 * <p>{@code AverageTime} for ns/op (B/op with {@code -prof gc}), {@code SampleTime} for p50/p99 (goal: decision
 * p50 <= 1 us, p99 <= 5 us). The setup checks every prepared call decides as the benchmark's name says.
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class LoadedAuthorizerBenchmark {
    static final int AGENTS = ConditionBenchmark.DOCUMENTS;
    static final int CALLS = 4096;
    private static final int MASK = CALLS - 1;

    /** Registry, policy, authorizer and prepared calls: built once per trial. */
    @State(Scope.Benchmark)
    public static class Loaded {
        /** Live tasks (half of them touched a PII route before the measured calls). */
        @Param("10000")
        public int tasks;

        TaskRegistry registry;
        Authorizer authorizer;
        final Call[] allowHttp = new Call[CALLS];
        final Call[] allowMcpCondition = new Call[CALLS];
        final Call[] denyPolicy = new Call[CALLS];
        final Call[] denyFlow = new Call[CALLS];

        @Setup(Level.Trial)
        public void setup() throws IOException, PolicyException, TaskException {
            List<RouteConfig> routes = new ArrayList<>();
            Map<String, Set<String>> labels = new HashMap<>();
            Set<String> names = new HashSet<>();
            for (int r = 0; r < ConditionBenchmark.ROUTES; r++) {
                RouteConfig rc = ConditionBenchmark.route(r);
                routes.add(rc);
                names.add(rc.name());
                labels.put(rc.name(), ConditionBenchmark.labels(r));
            }
            PolicySet policy = load(routes);
            TasksConfig config = new TasksConfig(null, "never", Duration.ofHours(1), Duration.ofHours(1), null,
                    20_000);
            registry = TaskRegistry.open(config, AccessConfig.defaults(), new MemoryTaskStore(), names, Clock.systemUTC(),
                    Ticker.systemTicker(), TaskAudit.NONE, () -> policy);
            authorizer = new Authorizer(registry, labels);
            String[] tokens = new String[tasks];
            for (int t = 0; t < tasks; t++) {
                int a = t % AGENTS;
                tokens[t] = registry.start(agent(a), new StartRequest(null, "bench task " + t, null, grants(a)))
                        .token();
            }
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode args = mapper.createObjectNode();
            args.put("repo", "acme/widgets");
            args.put("query", "is:open label:bug sort:updated-desc");
            args.put("limit", 25);
            args.putObject("filters").put("state", "open").putArray("labels").add("bug").add("triage");
            // Odd tasks touch their PII route once, so their history holds "pii" (the flow rule's `after`).
            for (int t = 1; t < tasks; t += 2) {
                int a = t % AGENTS;
                Decision d = authorizer.decide(new Call(agent(a), tokens[t], "r" + piiRoute(a), Protocol.HTTP, "GET",
                        "/repos/acme/issues"));
                if (d.code() != DecisionCode.ALLOW) {
                    throw new IllegalStateException("PII call of task " + t + ": " + d.code() + " " + d.reason());
                }
            }
            Random random = new Random(42);
            for (int i = 0; i < CALLS; i++) {
                int clean = random.nextInt(tasks / 2) * 2;
                int touched = clean + 1 < tasks ? clean + 1 : 1;
                int a = clean % AGENTS;
                // a fresh String and SpiffeId per call, as the data plane has for each request
                SpiffeId caller = SpiffeId.parse(agent(a).uri());
                String token = new String(tokens[clean].toCharArray());
                allowHttp[i] = new Call(caller, token, "r" + httpRoute(a), Protocol.HTTP, "GET",
                        "/repos/repo-" + random.nextInt(100) + "/issues");
                allowMcpCondition[i] = toolCall(caller, token, "r" + ConditionBenchmark.lastMcpRoute(a),
                        "search_issues", args, i);
                denyPolicy[i] = toolCall(caller, token, "r" + otherMcpRoute(a), "delete_branch", args, i);
                int b = touched % AGENTS;
                denyFlow[i] = toolCall(SpiffeId.parse(agent(b).uri()), new String(tokens[touched].toCharArray()),
                        "r" + ConditionBenchmark.lastMcpRoute(b), "search_issues", args, i);
            }
            expect(allowHttp, DecisionCode.ALLOW);
            expect(allowMcpCondition, DecisionCode.ALLOW);
            expect(denyPolicy, DecisionCode.DENY_POLICY);
            expect(denyFlow, DecisionCode.DENY_FLOW);
        }

        private void expect(Call[] calls, DecisionCode code) {
            for (Call c : calls) {
                Decision d = authorizer.decide(c);
                if (d.code() != code) {
                    throw new IllegalStateException(c + ": " + d.code() + " " + d.reason() + " (expected: " + code
                            + ")");
                }
            }
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            registry.close();
        }
    }

    private int i;

    @Benchmark
    public Decision allowHttp(Loaded l) {
        return l.authorizer.decide(l.allowHttp[i++ & MASK]);
    }

    @Benchmark
    public Decision allowMcpCondition(Loaded l) {
        return l.authorizer.decide(l.allowMcpCondition[i++ & MASK]);
    }

    @Benchmark
    public Decision denyPolicy(Loaded l) {
        return l.authorizer.decide(l.denyPolicy[i++ & MASK]);
    }

    @Benchmark
    public Decision denyFlow(Loaded l) {
        return l.authorizer.decide(l.denyFlow[i++ & MASK]);
    }

    static PolicySet load(List<RouteConfig> routes) throws IOException, PolicyException {
        Path dir = Files.createTempDirectory("toolgate-bench-policy");
        try {
            for (int d = 0; d < ConditionBenchmark.DOCUMENTS; d++) {
                Files.writeString(dir.resolve(String.format("agents-a%03d.yaml", d)), document(d));
            }
            return PolicyLoader.load(List.of(dir), routes);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    /**
     * {@link ConditionBenchmark#document} with one difference: the MCP rules without condition allow
     * {@code tools/call:*}, so a grant may hold a tool a deny rule names ({@code delete_branch} on the second-last
     * MCP route of the document) and the call reaches the policy's deny rule.
     */
    static String document(int d) {
        return ConditionBenchmark.document(d).replaceAll("\"mcp:tools/call:t[0-9]+_\\*\"", "\"mcp:tools/call:*\"");
    }

    static SpiffeId agent(int a) {
        return SpiffeId.parse("spiffe://bench.dev/agents/a" + a + "/worker-" + (a % 7));
    }

    /** The document's first HTTP route that is not a PII route. */
    static int httpRoute(int a) {
        for (int j = 0; j < ConditionBenchmark.RULES_PER_DOCUMENT; j++) {
            int r = ConditionBenchmark.routeOf(a, j);
            if (r % 2 == 1 && !ConditionBenchmark.labels(r).contains("pii")) {
                return r;
            }
        }
        throw new IllegalStateException("no HTTP route in document " + a);
    }

    /** The document's PII route (every document has one: its routes cover every last digit). */
    static int piiRoute(int a) {
        for (int j = 0; j < ConditionBenchmark.RULES_PER_DOCUMENT; j++) {
            int r = ConditionBenchmark.routeOf(a, j);
            if (ConditionBenchmark.labels(r).contains("pii")) {
                return r;
            }
        }
        throw new IllegalStateException("no PII route in document " + a);
    }

    /** The second-last MCP route of the document: the one whose deny rule names {@code delete_branch}. */
    static int otherMcpRoute(int a) {
        int seen = 0;
        for (int j = ConditionBenchmark.RULES_PER_DOCUMENT - 1; j >= 0; j--) {
            int r = ConditionBenchmark.routeOf(a, j);
            if (r % 2 == 0 && ++seen == 2) {
                return r;
            }
        }
        throw new IllegalStateException("document " + a + " has fewer than two MCP routes");
    }

    /** Four grants, each within the policy of the agent's document (the registry checks that at start). */
    static List<GrantRequest> grants(int a) {
        return List.of(
                new GrantRequest("r" + httpRoute(a), List.of("GET /repos/*/issues", "GET /repos/*/issues/*"), null,
                        null, null),
                new GrantRequest("r" + piiRoute(a), List.of("GET /repos/*/issues"), null, null, null),
                new GrantRequest("r" + ConditionBenchmark.lastMcpRoute(a),
                        List.of("mcp:tools/call:search_issues", "mcp:tools/call:get_issue"), null, null, null),
                new GrantRequest("r" + otherMcpRoute(a), List.of("mcp:tools/call:*"), null, null, null));
    }

    static Call toolCall(SpiffeId caller, String token, String route, String tool, ObjectNode args, int id) {
        return new Call(caller, token, route, Protocol.MCP, "POST", "/",
                new McpMessage(IntNode.valueOf(id), "tools/call", tool, null, args, false));
    }
}
