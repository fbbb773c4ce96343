package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.common.Protocol;
import dev.toolgate.testing.Await;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskException;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.policy.PolicyWatcher;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Policy on the data plane: allow-lists bound what may be granted, conditions see MCP arguments, flow rules see what
 * the task did before, shadow documents only mark calls, and a reloaded policy narrows live tasks at once (a broken
 * one leaves the old in force). Real mTLS, real upstreams, policy files on disk.
 */
class PolicyFlowTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String AGENT_ID = TestPki.AGENT.uri();

    @TempDir
    static Path dir;
    static Path policyFile;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail audit;
    static PolicyWatcher policies;
    static ProxyServer proxy;
    static HttpClient agent;

    static final String POLICY = """
            kind: Policy
            name: agents
            mode: enforce
            subjects: ["%s"]
            allow:
              - name: crm-read
                route: crm
                operations: ["GET /customers/*"]
              - name: mail-send
                route: mail
                operations: ["POST /send"]
              - name: github-read
                route: github-mcp
                operations: ["mcp:tools/list", "mcp:tools/call:search_issues"]
                when: 'has(mcp.arguments.repo) && mcp.arguments.repo.startsWith("acme/")'
              - name: crm-export
                route: crm
                operations: ["GET /exports/*"]
                rate: {perSecond: 0.01, burst: 2}
              - name: mail-tenant
                route: mail
                operations: ["POST /tenant/*"]
                when: >-
                  "x-tenant" in request.headers && request.headers["x-tenant"] == "acme, beta"
                  && !("authorization" in request.headers) && !("toolgate-task" in request.headers)
                  && request.host.startsWith("127.0.0.1:")
              - name: broken-condition
                route: mail
                operations: ["GET /status"]
                when: 'mcp.arguments.repo == "x"'
            flows:
              - name: no-pii-out
                after: [pii]
                deny: [external]
                reason: "no PII to external tools"
            """.formatted(AGENT_ID);

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        List<RouteConfig> routes = List.of(
                new RouteConfig("crm", "/api/crm", null, Protocol.HTTP, new UpstreamConfig(URI.create(upstream.url()), null,
                        null), List.of("pii"), null),
                new RouteConfig("mail", "/api/mail", null, Protocol.HTTP, new UpstreamConfig(URI.create(upstream.url()), null,
                        null), List.of("external"), null),
                new RouteConfig("github-mcp", "/mcp/github", null, Protocol.MCP, new UpstreamConfig(
                        URI.create(upstream.url() + "/mcp"), null, null), List.of("source-code"), null));
        SidecarConfig config = Sidecar.config(routes);
        policyFile = Files.writeString(Files.createDirectories(dir.resolve("policies")).resolve("agents.yaml"),
                POLICY);
        policies = PolicyWatcher.start(List.of(dir.resolve("policies")), routes, Duration.ofMillis(20));
        sink = new MemoryAuditSink();
        audit = AuditTrail.start(sink, null, 10_000);
        TaskRegistry tasks = TaskRegistry.open(config.tasks(), config.access(), new MemoryTaskStore(),
                routes.stream().map(RouteConfig::name).collect(Collectors.toSet()), Clock.systemUTC(),
                Ticker.systemTicker(), new TaskLifecycleAudit(audit, Clock.systemUTC(), Duration.ofSeconds(2)),
                policies::current);
        proxy = Sidecar.builder(pki, config).audit(audit).tasks(tasks).build();
        agent = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
    }

    @AfterAll
    static void stop() {
        proxy.close();
        policies.close();
        audit.close();
        upstream.close();
    }

    @BeforeEach
    void restorePolicy() throws Exception {
        writePolicy(POLICY);
        upstream.requests.clear();
    }

    static void writePolicy(String text) throws Exception {
        if (!Files.readString(policyFile).equals(text)) {
            String before = policies.current().version();
            Files.writeString(policyFile, text);
            Await.until("the new policy in force", () -> !policies.current().version().equals(before));
        }
    }

    static String task(GrantRequest... grants) throws TaskException {
        return proxy.tasks().start(TestPki.AGENT, new StartRequest(null, "policy test", null, List.of(grants)))
                .token();
    }

    static GrantRequest grant(String route, String... ops) {
        return new GrantRequest(route, List.of(ops), null, null, null);
    }

    static HttpResponse<String> send(String method, String path, String token, String body, String... headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("content-type", "application/json");
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return agent.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String code(HttpResponse<String> res) throws Exception {
        JsonNode j = JSON.readTree(res.body());
        return j.has("error") && j.path("error").isObject() ? j.at("/error/data/code").asText()
                : j.path("code").asText();
    }

    static String searchIssues(String repo) {
        return "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues\","
                + "\"arguments\":{\"repo\":\"" + repo + "\"}}}";
    }

    @Test
    void whatPolicyDoesNotAllowCannotBeGranted() {
        assertThatThrownBy(() -> task(grant("crm", "DELETE /customers/*")))
                .isInstanceOf(TaskException.class).hasMessageContaining("outside policy");
        assertThatThrownBy(() -> task(grant("github-mcp", "mcp:tools/call:delete_repo")))
                .isInstanceOf(TaskException.class).hasMessageContaining("outside policy");
    }

    @Test
    void anArgumentConditionAllowsAndDenies() throws Exception {
        String token = task(grant("github-mcp", "mcp:tools/call:search_issues"));
        assertThat(send("POST", "/mcp/github", token, searchIssues("acme/api")).statusCode()).isEqualTo(200);
        assertThat(upstream.requests).hasSize(1);
        HttpResponse<String> other = send("POST", "/mcp/github", token, searchIssues("evil/api"));
        assertThat(code(other)).isEqualTo("DENY_CONDITION");
        assertThat(upstream.requests).hasSize(1);
        assertThat(lastDecision().path("policy").asText()).startsWith("agents/github-read@");
    }

    @Test
    void afterTouchingPiiTheTaskCannotReachAnExternalTool() throws Exception {
        String piiFirst = task(grant("crm", "GET /customers/*"), grant("mail", "POST /send"));
        assertThat(send("GET", "/api/crm/customers/7", piiFirst, null).statusCode()).isEqualTo(200);
        HttpResponse<String> out = send("POST", "/api/mail/send", piiFirst, "{}");
        assertThat(code(out)).isEqualTo("DENY_FLOW");
        assertThat(JSON.readTree(out.body()).path("reason").asText()).contains("no PII to external tools");

        // The other order passes: the external call came before any PII.
        String externalFirst = task(grant("crm", "GET /customers/*"), grant("mail", "POST /send"));
        assertThat(send("POST", "/api/mail/send", externalFirst, "{}").statusCode()).isEqualTo(200);
        assertThat(send("GET", "/api/crm/customers/7", externalFirst, null).statusCode()).isEqualTo(200);
    }

    @Test
    void aConditionThatCannotBeEvaluatedDeniesFailClosed() throws Exception {
        String token = task(grant("mail", "GET /status"));
        HttpResponse<String> res = send("GET", "/api/mail/status", token, null);
        assertThat(code(res)).isEqualTo("ERROR_FAIL_CLOSED");
        assertThat(upstream.requests).isEmpty();
        assertThat(lastDecision().path("code").asText()).isEqualTo("ERROR_FAIL_CLOSED");
    }

    @Test
    void tighteningThePolicyNarrowsALiveTaskAtOnceAndABrokenFileChangesNothing() throws Exception {
        String token = task(grant("crm", "GET /customers/*"));
        assertThat(send("GET", "/api/crm/customers/1", token, null).statusCode()).isEqualTo(200);

        String version = policies.current().version();
        Files.writeString(policyFile, "kind: Policy\nname: [broken\n");
        Await.until("the broken policy refused", () -> policies.failures() > 0);
        assertThat(policies.failures()).isPositive();
        assertThat(policies.current().version()).isEqualTo(version);
        assertThat(send("GET", "/api/crm/customers/2", token, null).statusCode()).isEqualTo(200);

        writePolicy(POLICY.replace("""
                  - name: crm-read
                    route: crm
                    operations: ["GET /customers/*"]
                """, ""));
        assertThat(code(send("GET", "/api/crm/customers/3", token, null))).isEqualTo("DENY_POLICY");
    }

    @Test
    void conditionsSeeRequestHeadersAndHostButNeverCredentialsOrTheToken() throws Exception {
        String token = task(grant("mail", "POST /tenant/*"));
        // Two x-tenant headers are one value joined with ", "; the Authorization the agent sends is not visible.
        assertThat(send("POST", "/api/mail/tenant/1", token, "{}", "x-tenant", "acme", "x-tenant", "beta",
                "authorization", "Bearer secret").statusCode()).isEqualTo(200);
        assertThat(upstream.requests).hasSize(1);
        assertThat(code(send("POST", "/api/mail/tenant/2", token, "{}", "x-tenant", "other")))
                .isEqualTo("DENY_CONDITION");
        assertThat(code(send("POST", "/api/mail/tenant/3", token, "{}"))).isEqualTo("DENY_CONDITION");
        assertThat(upstream.requests).hasSize(1);
    }

    @Test
    void aRateLimitAnswers429WithRetryAfterAndSpendsNoBudget() throws Exception {
        String token = task(new GrantRequest("crm", List.of("GET /exports/*"), null, 3L, null));
        assertThat(send("GET", "/api/crm/exports/1", token, null).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/api/crm/exports/2", token, null).statusCode()).isEqualTo(200);

        HttpResponse<String> limited = send("GET", "/api/crm/exports/3", token, null);
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(code(limited)).isEqualTo("DENY_BUDGET");
        // One call per 100 s refills the bucket: the agent is told to come back in (at most) that long.
        long retry = Long.parseLong(limited.headers().firstValue("retry-after").orElseThrow());
        assertThat(retry).isBetween(90L, 100L);
        JsonNode body = JSON.readTree(limited.body());
        assertThat(body.path("retry_after").asLong()).isEqualTo(retry);
        assertThat(body.path("reason").asText()).contains("rate limit of agents/crm-export");
        assertThat(upstream.requests).hasSize(2);
        JsonNode d = lastDecision();
        assertThat(d.path("code").asText()).isEqualTo("DENY_BUDGET");
        assertThat(d.path("policy").asText()).startsWith("agents/crm-export@");

        // The refused call did not spend the grant's budget: one of its three calls is left.
        String taskId = d.path("task_id").asText();
        assertThat(proxy.tasks().get(TestPki.AGENT, taskId).grantsFor("crm")[0].remaining()).isEqualTo(1);
    }

    @Test
    void aRateLimitedMcpCallGetsRetryAfterInTheJsonRpcError() throws Exception {
        writePolicy(POLICY.replace("""
                    when: 'has(mcp.arguments.repo) && mcp.arguments.repo.startsWith("acme/")'
                """, """
                    rate: {perSecond: 0.01, burst: 1}
                """));
        String token = task(grant("github-mcp", "mcp:tools/call:search_issues"));
        assertThat(send("POST", "/mcp/github", token, searchIssues("acme/api")).statusCode()).isEqualTo(200);
        HttpResponse<String> limited = send("POST", "/mcp/github", token, searchIssues("acme/api"));
        assertThat(limited.statusCode()).isEqualTo(200); // a JSON-RPC error answers the request
        JsonNode data = JSON.readTree(limited.body()).at("/error/data");
        assertThat(data.path("code").asText()).isEqualTo("DENY_BUDGET");
        assertThat(data.path("retry_after").asLong()).isBetween(90L, 100L);
        assertThat(upstream.requests).hasSize(1);
    }

    @Test
    void aShadowPolicyOnlyMarksTheCallWouldDeny() throws Exception {
        String token = task(grant("crm", "GET /customers/*"), grant("mail", "POST /send"));
        writePolicy(POLICY.replace("mode: enforce", "mode: shadow"));
        assertThat(send("GET", "/api/crm/customers/9", token, null).statusCode()).isEqualTo(200);
        HttpResponse<String> out = send("POST", "/api/mail/send", token, "{}");
        assertThat(out.statusCode()).isEqualTo(200);
        assertThat(upstream.requests).hasSize(2);
        JsonNode d = lastDecision();
        assertThat(d.path("decision").asText()).isEqualTo("would_deny");
        assertThat(d.path("code").asText()).isEqualTo("DENY_FLOW");
        assertThat(d.path("mode").asText()).isEqualTo("shadow");
    }

    private static JsonNode lastDecision() throws Exception {
        AuditRecords.awaitWritten(audit);
        List<JsonNode> decisions = new ArrayList<>();
        for (String line : sink.lines) {
            JsonNode n = JSON.readTree(line);
            if (n.path("phase").asText().equals("decision")) {
                decisions.add(n);
            }
        }
        return decisions.get(decisions.size() - 1);
    }
}
