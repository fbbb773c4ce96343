package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.approval.Approval;
import dev.toolgate.approval.ApprovalException;
import dev.toolgate.approval.Approvals;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.ApprovalsConfig;
import dev.toolgate.config.RouteAuditConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.policy.PolicyLoader;
import dev.toolgate.policy.PolicySet;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.ManualClock;
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
 * Approvals over the real data plane (mTLS, a real upstream, the policy loaded from a file, a clock moved by hand):
 * a rule with {@code approval: required} answers {@code PENDING_APPROVAL} with an approval id until a person decides;
 * approved, the same call passes for {@code approvals.calls} calls or {@code approvals.validFor}; denied, it stays
 * denied; undecided, it expires and the next call asks again. Every step is in the audit trail.
 */
class ApprovalFlowTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final SpiffeId AGENT = TestPki.AGENT;
    static final SpiffeId APPROVER = SpiffeId.parse("spiffe://toolgate.test/ops/alice");

    @TempDir
    static Path dir;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail audit;
    static ManualClock clock;
    static ProxyServer proxy;
    static Approvals approvals;
    static HttpClient agent;
    static TestPki pki;

    static final String POLICY = """
            kind: Policy
            name: agents
            mode: enforce
            subjects: ["%s"]
            allow:
              - name: crm-read
                route: crm
                operations: ["GET /customers/*"]
                approval: required
              - name: weather
                route: weather
                operations: ["GET /forecast/*"]
              - name: mail
                route: tools-mcp
                operations: ["mcp:tools/call:send_mail"]
                approval: required
              - name: stock
                route: inventory
                operations: ["grpc:inventory.v1.InventoryService/DeleteItem"]
                approval: required
            """.formatted(AGENT.uri());

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        List<RouteConfig> routes = List.of(
                Sidecar.route("crm", "/api/crm", upstream.url()),
                Sidecar.route("weather", "/api/weather", upstream.url()),
                new RouteConfig("tools-mcp", "/mcp/tools", null, Protocol.MCP,
                        new UpstreamConfig(URI.create(upstream.url() + "/mcp"), null, null), null, null, null,
                        new RouteAuditConfig(List.of("subject", "to"), null)),
                new RouteConfig("inventory", null, "inventory.v1.InventoryService", Protocol.GRPC,
                        new UpstreamConfig(URI.create(upstream.url()), null, null), null, null));
        SidecarConfig config = Sidecar.config(routes)
                .withApprovals(new ApprovalsConfig(Duration.ofMinutes(10), Duration.ofMinutes(5), 2, null, null));
        Path policyFile = Files.writeString(dir.resolve("agents.yaml"), POLICY);
        PolicySet policy = PolicyLoader.load(List.of(policyFile), routes);
        sink = new MemoryAuditSink();
        audit = AuditTrail.start(sink, null, 10_000);
        clock = new ManualClock();
        TaskRegistry tasks = TaskRegistry.open(config.tasks(), config.access(), new MemoryTaskStore(),
                routes.stream().map(RouteConfig::name).collect(Collectors.toSet()), clock, clock,
                new TaskLifecycleAudit(audit, clock, Duration.ofSeconds(2)), () -> policy);
        proxy = Sidecar.builder(pki, config).audit(audit).tasks(tasks).build();
        approvals = proxy.authorizer().approvals();
        agent = HttpClient.newBuilder().sslContext(pki.jdkClient(AGENT)).build();
    }

    @AfterAll
    static void stop() {
        proxy.close();
        audit.close();
        upstream.close();
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
    }

    static String task(GrantRequest... grants) throws Exception {
        return proxy.tasks().start(AGENT, new StartRequest(null, "quarterly report", Duration.ofMinutes(30),
                List.of(grants))).token();
    }

    static GrantRequest crm(Long budget) {
        return new GrantRequest("crm", List.of("GET /customers/*"), null, budget, null);
    }

    static HttpResponse<String> get(String path, String token) throws Exception {
        return agent.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> mcp(String token, String body) throws Exception {
        return agent.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/mcp/tools"))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token)
                .header("content-type", "application/json").header("accept", "application/json, text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String sendMail(String to) {
        return "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"send_mail\","
                + "\"arguments\":{\"to\":\"" + to + "\",\"subject\":\"Q3\"}}}";
    }

    /** A 403 PENDING_APPROVAL answer; returns its approval id. */
    static String pending(HttpResponse<String> res) throws Exception {
        assertThat(res.statusCode()).as(res.body()).isEqualTo(403);
        JsonNode body = JSON.readTree(res.body());
        assertThat(body.path("error").asText()).isEqualTo("toolgate_denied");
        assertThat(body.path("code").asText()).isEqualTo("PENDING_APPROVAL");
        assertThat(body.path("decision_id").asText()).hasSize(32);
        String id = body.path("approval_id").asText();
        assertThat(id).matches("apr_[0-9a-f]{24}");
        assertThat(body.path("reason").asText()).contains(id, "agents/crm-read");
        return id;
    }

    static List<JsonNode> records() throws Exception {
        AuditRecords.awaitWritten(audit);
        List<JsonNode> out = new ArrayList<>();
        for (String line : sink.lines) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    static List<JsonNode> records(String approvalId) throws Exception {
        return records().stream().filter(r -> r.path("approval_id").asText().equals(approvalId)).toList();
    }

    @Test
    void pendingThenApproved_theSameCallPassesForItsCallCountThenAsksAgain() throws Exception {
        String token = task(crm(null));
        String id = pending(get("/api/crm/customers/7", token));
        assertThat(pending(get("/api/crm/customers/7", token))).isEqualTo(id);
        assertThat(upstream.requests).isEmpty();
        String taskId = proxy.tasks().find(token).task().id();
        List<Approval> waiting = approvals.pending(AGENT, taskId);
        assertThat(waiting).hasSize(1);
        assertThat(waiting.get(0).request().operation()).isEqualTo("GET /customers/7");
        assertThat(waiting.get(0).request().purpose()).isEqualTo("quarterly report");
        assertThat(waiting.get(0).request().policy()).startsWith("agents/crm-read@");

        approvals.decide(id, true, "ticket 4711", APPROVER);
        assertThat(get("/api/crm/customers/7", token).statusCode()).isEqualTo(200);
        assertThat(get("/api/crm/customers/7", token).statusCode()).isEqualTo(200);
        assertThat(upstream.requests).hasSize(2);
        // Another customer was never approved.
        assertThat(pending(get("/api/crm/customers/8", token))).isNotEqualTo(id);
        // approvals.calls (2) used up: the next identical call waits for a new approval.
        String next = pending(get("/api/crm/customers/7", token));
        assertThat(next).isNotEqualTo(id);
        assertThat(upstream.requests).hasSize(2);

        // The audit trail: two pending decisions, the request, the grant by the approver, two allowed calls.
        List<JsonNode> steps = records(id);
        assertThat(steps).filteredOn(r -> r.path("phase").asText().equals("decision")
                && r.path("code").asText().equals("PENDING_APPROVAL")).hasSize(2);
        assertThat(steps).filteredOn(r -> r.path("event").asText().equals("approval_requested"))
                .singleElement().satisfies(r -> {
                    assertThat(r.path("actor").asText()).isEqualTo(AGENT.uri());
                    assertThat(r.path("task_id").asText()).isEqualTo(taskId);
                    assertThat(r.path("operation").asText()).isEqualTo("GET /customers/7");
                    assertThat(r.path("route").asText()).isEqualTo("crm");
                });
        assertThat(steps).filteredOn(r -> r.path("event").asText().equals("approval_granted"))
                .singleElement().satisfies(r -> {
                    assertThat(r.path("actor").asText()).isEqualTo(APPROVER.uri());
                    assertThat(r.path("reason").asText()).isEqualTo("ticket 4711");
                });
        assertThat(steps).filteredOn(r -> r.path("phase").asText().equals("decision")
                && r.path("decision").asText().equals("allow")).hasSize(2);
        assertThat(steps).filteredOn(r -> r.path("phase").asText().equals("outcome")).isEmpty();
    }

    @Test
    void anApprovalEndsWithItsWindow() throws Exception {
        String token = task(crm(null));
        String id = pending(get("/api/crm/customers/1", token));
        approvals.decide(id, true, null, APPROVER);
        clock.advance(Duration.ofMinutes(4));
        assertThat(get("/api/crm/customers/1", token).statusCode()).isEqualTo(200);
        clock.advance(Duration.ofMinutes(1));
        assertThat(pending(get("/api/crm/customers/1", token))).isNotEqualTo(id);
        assertThat(upstream.requests).hasSize(1);
    }

    @Test
    void anApprovedCallStillNeedsItsGrantsBudget() throws Exception {
        String token = task(crm(1L));
        approvals.decide(pending(get("/api/crm/customers/2", token)), true, null, APPROVER);
        assertThat(get("/api/crm/customers/2", token).statusCode()).isEqualTo(200);
        HttpResponse<String> spent = get("/api/crm/customers/2", token);
        assertThat(JSON.readTree(spent.body()).path("code").asText()).isEqualTo("DENY_BUDGET");
        assertThat(upstream.requests).hasSize(1);
    }

    @Test
    void pendingThenDenied_theCallStaysDenied() throws Exception {
        String token = task(crm(null));
        String id = pending(get("/api/crm/customers/3", token));
        approvals.decide(id, false, "not for this ticket", APPROVER);
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> res = get("/api/crm/customers/3", token);
            assertThat(res.statusCode()).isEqualTo(403);
            JsonNode body = JSON.readTree(res.body());
            assertThat(body.path("code").asText()).isEqualTo("DENY_POLICY");
            assertThat(body.path("approval_id").asText()).isEqualTo(id);
            assertThat(body.path("reason").asText())
                    .isEqualTo("approval " + id + " denied by " + APPROVER.uri() + ": not for this ticket");
        }
        clock.advance(Duration.ofMinutes(20));
        assertThat(JSON.readTree(get("/api/crm/customers/3", token).body()).path("code").asText())
                .isEqualTo("DENY_POLICY");
        assertThat(upstream.requests).isEmpty();
        assertThat(records(id)).anySatisfy(r -> {
            assertThat(r.path("event").asText()).isEqualTo("approval_denied");
            assertThat(r.path("actor").asText()).isEqualTo(APPROVER.uri());
            assertThat(r.path("reason").asText()).isEqualTo("not for this ticket");
        });
    }

    @Test
    void anUndecidedApprovalExpires_isAudited_andTheNextCallAsksAgain() throws Exception {
        String token = task(crm(null));
        String id = pending(get("/api/crm/customers/4", token));
        clock.advance(Duration.ofMinutes(10));
        String again = pending(get("/api/crm/customers/4", token));
        assertThat(again).isNotEqualTo(id);
        assertThat(records(id)).anySatisfy(r -> {
            assertThat(r.path("event").asText()).isEqualTo("approval_expired");
            assertThat(r.path("phase").asText()).isEqualTo("task");
        });
        ApprovalException late = catchThrowableOfType(ApprovalException.class,
                () -> approvals.decide(id, true, null, APPROVER));
        assertThat(late.kind()).isEqualTo(ApprovalException.Kind.NOT_FOUND);
    }

    @Test
    void theAgentCannotApproveItsOwnRequest_andEndingTheTaskDropsItsApprovals() throws Exception {
        String token = task(crm(null));
        String id = pending(get("/api/crm/customers/5", token));
        ApprovalException own = catchThrowableOfType(ApprovalException.class,
                () -> approvals.decide(id, true, "trust me", AGENT));
        assertThat(own.kind()).isEqualTo(ApprovalException.Kind.PERMISSION_DENIED);
        assertThat(pending(get("/api/crm/customers/5", token))).isEqualTo(id);

        String taskId = proxy.tasks().find(token).task().id();
        proxy.tasks().end(AGENT, taskId, "done");
        assertThat(approvals.pending(null, taskId)).isEmpty();
        assertThat(catchThrowableOfType(ApprovalException.class,
                () -> approvals.decide(id, true, null, APPROVER)).kind()).isEqualTo(ApprovalException.Kind.NOT_FOUND);
        assertThat(JSON.readTree(get("/api/crm/customers/5", token).body()).path("code").asText())
                .isEqualTo("DENY_TASK_ENDED");
    }

    @Test
    void anMcpToolCallWaitsWithTheApprovalIdInErrorData_andItsArgumentsAreWhatIsApproved() throws Exception {
        String token = task(new GrantRequest("tools-mcp", List.of("mcp:tools/call:send_mail"), null, null, null));
        HttpResponse<String> res = mcp(token, sendMail("cfo@example.com"));
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode err = JSON.readTree(res.body()).path("error");
        assertThat(err.path("code").asInt()).isEqualTo(-32001);
        assertThat(err.path("message").asText()).startsWith("PENDING_APPROVAL: ");
        String id = err.path("data").path("approval_id").asText();
        assertThat(id).matches("apr_[0-9a-f]{24}");
        assertThat(err.path("data").path("code").asText()).isEqualTo("PENDING_APPROVAL");
        assertThat(JSON.readTree(res.body()).path("id").asInt()).isEqualTo(7);
        Approval waiting = approvals.pending(AGENT, proxy.tasks().find(token).task().id()).get(0);
        assertThat(waiting.request().operation()).isEqualTo("mcp:tools/call:send_mail");
        assertThat(waiting.request().argsDigest()).matches("[0-9a-f]{64}");
        // Approvers see the arguments the route captures, redacted as in the audit (the e-mail address is hidden).
        assertThat(waiting.request().shownArguments()).containsOnlyKeys("subject", "to");
        assertThat(waiting.request().shownArguments().get("to")).doesNotContain("cfo@example.com")
                .contains("[REDACTED");

        approvals.decide(id, true, null, APPROVER);
        assertThat(mcp(token, sendMail("cfo@example.com")).body()).doesNotContain("PENDING_APPROVAL");
        assertThat(upstream.requests).hasSize(1);
        // The same tool with other arguments is another operation: it waits for its own approval.
        JsonNode other = JSON.readTree(mcp(token, sendMail("attacker@example.net")).body());
        assertThat(other.at("/error/data/approval_id").asText()).isNotEqualTo(id).startsWith("apr_");
        assertThat(upstream.requests).hasSize(1);

        assertThat(records(id)).anySatisfy(r -> {
            assertThat(r.path("event").asText()).isEqualTo("approval_requested");
            assertThat(r.path("args_digest").asText()).isEqualTo(waiting.request().argsDigest());
        });
    }

    @Test
    void aGrpcClientGetsPermissionDeniedNamingTheApproval() throws Exception {
        String token = task(new GrantRequest("inventory", List.of("grpc:inventory.v1.InventoryService/DeleteItem"),
                null, null, null));
        HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2)
                .sslContext(pki.jdkClient(AGENT)).build();
        // An empty gRPC message: 5-byte frame header, not compressed, length 0.
        HttpResponse<byte[]> res = h2.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port()
                        + "/inventory.v1.InventoryService/DeleteItem")).timeout(Duration.ofSeconds(10))
                .header("toolgate-task", token).header("content-type", "application/grpc").header("te", "trailers")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[5])).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(res.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(res.headers().firstValue("grpc-status")).hasValue("7");
        String id = res.headers().firstValue("toolgate-approval-id").orElseThrow();
        assertThat(id).matches("apr_[0-9a-f]{24}");
        assertThat(res.headers().firstValue("grpc-message").orElseThrow())
                .startsWith("PENDING_APPROVAL: ").contains("approval " + id + " is pending");
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void callsWhoseRuleNeedsNoApprovalCarryNoApprovalId() throws Exception {
        String token = proxy.tasks().start(AGENT, new StartRequest(null, "forecast", null,
                List.of(new GrantRequest("weather", List.of("GET /forecast/*"), null, null, null)))).token();
        assertThat(get("/api/weather/forecast/oslo", token).statusCode()).isEqualTo(200);
        HttpResponse<String> denied = get("/api/weather/alerts", token);
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(denied.body()).has("approval_id")).isFalse();
    }
}
