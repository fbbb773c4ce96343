package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.AuditVerifier;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.config.JwtSvidConfig;
import dev.toolgate.config.ListenerConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.policy.PolicyWatcher;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.DecisionTable;
import dev.toolgate.testing.ManualClock;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The table of DESIGN.md's decision codes: each one produced by a real call through the real sidecar (mTLS, a real
 * upstream, a policy file, the audit trail writing a real file), and each giving a decision record with the required
 * fields; a forwarded call also an outcome record with status, bytes and timings. The switch over
 * {@link DecisionCode} has no default: a code added to the enum does not compile here until it has its row.
 */
class DecisionCodesAuditTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final SpiffeId OTHER = SpiffeId.parse("spiffe://toolgate.test/agents/writer");

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static Path auditFile;
    static AuditTrail audit;
    static PolicyWatcher policies;
    static ManualClock clock;
    static ProxyServer proxy;
    static HttpClient agent;
    static HttpClient other;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        List<RouteConfig> routes = DecisionTable.routes(upstream.url());
        auditFile = dir.resolve("audit").resolve("audit.jsonl");
        SidecarConfig config = Sidecar.config(routes)
                .withAudit(new AuditConfig(auditFile, 10_000, Duration.ofSeconds(5), null, false));
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies").resolve("agents.yaml"), DecisionTable.POLICY);
        policies = PolicyWatcher.start(List.of(dir.resolve("policies")), routes, Duration.ofSeconds(60));
        audit = AuditTrail.open(config.audit());
        clock = new ManualClock();
        TaskRegistry tasks = TaskRegistry.open(config.tasks(), config.access(), new MemoryTaskStore(),
                routes.stream().map(RouteConfig::name).collect(Collectors.toSet()), clock, clock,
                new TaskLifecycleAudit(audit, clock, Duration.ofSeconds(5)), policies::current);
        // JWT-SVIDs accepted besides client certificates, so a request without any identity reaches a decision.
        SidecarConfig withJwt = config.withListener(new ListenerConfig("127.0.0.1", 0)
                .withJwtSvid(new JwtSvidConfig(true, "toolgate-test", null)));
        proxy = Sidecar.builder(pki, withJwt).jwtBundles(pki.ca().jwtBundles()).audit(audit).tasks(tasks).build();
        agent = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
        other = HttpClient.newBuilder().sslContext(pki.jdkClient(OTHER)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        proxy.close();
        policies.close();
        audit.close();
        upstream.close();
        // Everything the table wrote is one intact chain.
        AuditVerifier.Result chain = AuditVerifier.verifyFromGenesis(List.of(auditFile));
        assertThat(chain.ok()).as(chain.toString()).isTrue();
    }

    /** What a row expects of its decision record (null: the field must be absent). */
    record Expect(HttpResponse<String> response, String operation, SpiffeId agent, String taskId, String route,
                  String protocol, boolean policy, boolean forwarded) {}

    @ParameterizedTest(name = "{0}")
    @EnumSource(DecisionCode.class)
    void everyCodeGivesADecisionRecordWithTheRequiredFields(DecisionCode code) throws Exception {
        Expect e = produce(code);
        String id = decisionIdOf(e);
        List<JsonNode> recs = records(id, e.forwarded() ? 2 : 1);
        JsonNode d = recs.get(0);
        assertThat(d.path("phase").asText()).isEqualTo("decision");
        assertThat(d.path("ts").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z");
        assertThat(d.path("decision_id").asText()).matches("[0-9a-f]{32}");
        assertThat(d.path("trace_id").asText()).matches("[0-9a-f]{32}");
        assertThat(d.path("span_id").asText()).matches("[0-9a-f]{16}");
        assertField(d, "agent", e.agent() == null ? null : e.agent().uri());
        assertField(d, "task_id", e.taskId());
        assertField(d, "route", e.route());
        assertField(d, "protocol", e.protocol());
        assertThat(d.path("operation").asText()).isEqualTo(e.operation());
        assertThat(d.path("decision").asText()).isEqualTo(code == DecisionCode.ALLOW ? "allow" : "deny");
        assertThat(d.path("code").asText()).isEqualTo(code.name());
        assertThat(d.path("reason").asText()).isNotBlank();
        if (e.policy()) {
            assertThat(d.path("policy").asText()).as("policy").isNotBlank();
        } else {
            assertThat(d.has("policy")).as("policy of %s", code).isFalse();
        }
        assertThat(d.path("mode").asText()).isEqualTo("enforce");
        assertThat(d.path("decision_us").isIntegralNumber()).isTrue();
        assertThat(d.path("prev_hash").asText()).matches("[0-9a-f]{64}");
        assertThat(d.path("hash").asText()).matches("[0-9a-f]{64}");
        if (e.forwarded()) {
            assertThat(recs).hasSize(2);
            JsonNode o = recs.get(1);
            assertThat(o.path("phase").asText()).isEqualTo("outcome");
            assertThat(o.path("upstream_status").asInt()).isEqualTo(e.response().statusCode());
            assertThat(o.path("outcome").asText()).isEqualTo("completed");
            assertThat(o.path("bytes_in").asLong()).isEqualTo(0);
            assertThat(o.path("bytes_out").asLong()).isEqualTo(e.response().body().length()).isPositive();
            assertThat(o.path("upstream_ms").isIntegralNumber()).isTrue();
            assertThat(o.path("prev_hash").asText()).matches("[0-9a-f]{64}");
            assertThat(o.path("hash").asText()).matches("[0-9a-f]{64}");
        } else {
            // A negative check: only time passing can show that an outcome record does not come.
            Thread.sleep(100);
            assertThat(records(id, 1)).as("a refused call has no outcome").hasSize(1);
        }
    }

    /** Makes a real call that the sidecar decides with {@code code}. */
    private static Expect produce(DecisionCode code) throws Exception {
        String unique = "/x-" + UUID.randomUUID();
        return switch (code) {
            case ALLOW -> {
                Started t = task(TestPki.AGENT, grant("weather", "GET /**"));
                yield get(agent, "/api/weather" + unique, t, "weather", true, true, 200);
            }
            case DENY_NO_IDENTITY -> {
                // No client certificate, and a bearer token that is not a JWT-SVID: 401, decided and audited.
                HttpClient anonymous = HttpClient.newBuilder().sslContext(trustOnly()).build();
                HttpResponse<String> res = anonymous.send(HttpRequest.newBuilder(url("/api/weather" + unique))
                        .header("authorization", "Bearer not-a-jwt-svid").timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(res.statusCode()).as(res.body()).isEqualTo(401);
                assertThat(upstream.requests).noneMatch(r -> r.uri().contains(unique));
                yield new Expect(res, "GET /api/weather" + unique, null, null, null, "http", false, false);
            }
            case DENY_NO_TASK -> get(agent, "/api/weather" + unique, null, "weather", false, false, 403);
            case DENY_TASK_EXPIRED -> {
                Started t = start(TestPki.AGENT, Duration.ofMinutes(1), grant("weather", "GET /**"));
                clock.advance(Duration.ofMinutes(2));
                yield get(agent, "/api/weather" + unique, t, "weather", false, false, 403);
            }
            case DENY_TASK_ENDED -> {
                Started t = task(TestPki.AGENT, grant("weather", "GET /**"));
                proxy.tasks().end(TestPki.AGENT, t.id(), "done");
                yield get(agent, "/api/weather" + unique, t, "weather", false, false, 403);
            }
            case DENY_IDENTITY_MISMATCH -> {
                Started stolen = task(TestPki.AGENT, grant("weather", "GET /**"));
                Expect e = get(other, "/api/weather" + unique, stolen, "weather", false, false, 403);
                yield new Expect(e.response(), e.operation(), OTHER, e.taskId(), e.route(), e.protocol(), false,
                        false);
            }
            case DENY_NO_GRANT -> {
                Started t = task(TestPki.AGENT, grant("weather", "GET /**"));
                yield get(agent, "/api/crm" + unique, t, "crm", false, false, 403);
            }
            case DENY_CONDITION -> {
                Started t = task(TestPki.AGENT, new GrantRequest("weather", List.of("GET /**"),
                        "request.method == \"POST\"", null, null));
                yield get(agent, "/api/weather" + unique, t, "weather", true, false, 403);
            }
            case DENY_BUDGET -> {
                Started t = task(TestPki.AGENT, new GrantRequest("weather", List.of("GET /**"), null, 1L, null));
                assertThat(get(agent, "/api/weather/first", t, "weather", true, true, 200).response().statusCode())
                        .isEqualTo(200);
                yield get(agent, "/api/weather" + unique, t, "weather", true, false, 403);
            }
            case DENY_POLICY -> {
                Started t = task(TestPki.AGENT, grant("weather", "GET /**"));
                yield get(agent, "/api/weather/admin" + unique, t, "weather", true, false, 403);
            }
            case DENY_FLOW -> {
                Started t = task(TestPki.AGENT, grant("crm", "GET /**"), grant("mail", "POST /**"));
                assertThat(get(agent, "/api/crm/customers/7", t, "crm", true, true, 200).response().statusCode())
                        .isEqualTo(200);
                HttpResponse<String> res = agent.send(HttpRequest.newBuilder(url("/api/mail" + unique))
                        .timeout(Duration.ofSeconds(10)).header("toolgate-task", t.token())
                        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(res.statusCode()).as(res.body()).isEqualTo(403);
                yield new Expect(res, "POST /api/mail" + unique, TestPki.AGENT, t.id(), "mail", "http", true,
                        false);
            }
            case PENDING_APPROVAL -> {
                Started t = task(TestPki.AGENT, grant("weather", "DELETE /**"));
                HttpResponse<String> res = agent.send(HttpRequest.newBuilder(url("/api/weather" + unique))
                        .timeout(Duration.ofSeconds(10)).header("toolgate-task", t.token()).DELETE().build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(res.statusCode()).as(res.body()).isEqualTo(403);
                yield new Expect(res, "DELETE /api/weather" + unique, TestPki.AGENT, t.id(), "weather", "http",
                        true, false);
            }
            case DENY_MALFORMED -> {
                // An MCP POST that is not JSON: refused before any task is looked at, so no task_id.
                Started t = task(TestPki.AGENT, grant("tools-mcp", "mcp:tools/call:*"));
                HttpResponse<String> res = agent.send(HttpRequest.newBuilder(url("/mcp/tools"))
                        .timeout(Duration.ofSeconds(10)).header("toolgate-task", t.token())
                        .header("content-type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":1,")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(res.statusCode()).as(res.body()).isEqualTo(400);
                yield new Expect(res, "POST /mcp/tools", TestPki.AGENT, null, "tools-mcp", "mcp", false, false);
            }
            case ERROR_FAIL_CLOSED -> {
                // A policy condition that cannot be evaluated (no MCP arguments on an HTTP call) denies. The other
                // source of this code, a decision record the trail cannot take in time, has no record of its own
                // by nature: it is summed up in a gap record (AuditGapTest).
                Started t = task(TestPki.AGENT, grant("mail", "GET /status"));
                HttpResponse<String> res = agent.send(HttpRequest.newBuilder(url("/api/mail/status"))
                        .timeout(Duration.ofSeconds(10)).header("toolgate-task", t.token()).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(res.statusCode()).as(res.body()).isEqualTo(503);
                yield new Expect(res, "GET /api/mail/status", TestPki.AGENT, t.id(), "mail", "http", true, false);
            }
        };
    }

    record Started(String token, String id) {}

    static GrantRequest grant(String route, String... ops) {
        return new GrantRequest(route, List.of(ops), null, null, null);
    }

    static Started task(SpiffeId who, GrantRequest... grants) throws Exception {
        return start(who, null, grants);
    }

    static Started start(SpiffeId who, Duration ttl, GrantRequest... grants) throws Exception {
        TaskRegistry.Started s = proxy.tasks().start(who, new StartRequest(null, "decision table", ttl,
                List.of(grants)));
        return new Started(s.token(), s.task().task().id());
    }

    static URI url(String path) {
        return URI.create("https://127.0.0.1:" + proxy.port() + path);
    }

    /** A GET of {@code path} with the task's token (none for null), answered {@code status}. */
    static Expect get(HttpClient client, String path, Started t, String route, boolean policy, boolean forwarded,
                      int status) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(url(path)).timeout(Duration.ofSeconds(10));
        if (t != null) {
            b.header("toolgate-task", t.token());
        }
        HttpResponse<String> res = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).as(res.body()).isEqualTo(status);
        return new Expect(res, "GET " + path, TestPki.AGENT, t == null ? null : t.id(), route, "http", policy,
                forwarded);
    }

    /** The decision id a refusal names in its answer; for a forwarded call, found by its (unique) operation. */
    static String decisionIdOf(Expect e) throws Exception {
        if (!e.forwarded()) {
            JsonNode body = JSON.readTree(e.response().body());
            JsonNode id = body.has("decision_id") ? body.get("decision_id") : body.at("/error/data/decision_id");
            return id.asText();
        }
        for (JsonNode n : lines()) {
            if (n.path("phase").asText().equals("decision") && n.path("operation").asText().equals(e.operation())) {
                return n.get("decision_id").asText();
            }
        }
        throw new AssertionError("no decision record for " + e.operation());
    }

    static List<JsonNode> lines() throws Exception {
        AuditRecords.awaitWritten(audit);
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(auditFile)) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    /** The records of one decision, waiting (bounded) until {@code expected} of them are in the file. */
    static List<JsonNode> records(String decisionId, int expected) throws Exception {
        return AuditRecords.of(audit, auditFile).awaitAll("decision " + decisionId, expected,
                AuditRecords.field("decision_id", decisionId));
    }

    static void assertField(JsonNode r, String name, String expected) {
        if (expected == null) {
            assertThat(r.has(name)).as("%s absent", name).isFalse();
        } else {
            assertThat(r.path(name).asText()).as(name).isEqualTo(expected);
        }
    }

    /** A client that trusts the dev CA but presents no certificate. */
    static SSLContext trustOnly() throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        ks.setCertificateEntry("ca", pki.ca().certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
