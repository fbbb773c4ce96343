package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditFsync;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.testing.GatedAuditSink;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.SidecarExtension;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every call leaves audit records: a decision before anything is forwarded, an outcome when it ends. Calls carry the
 * token of a task that may do anything on every route; the records name that task.
 */
class AuditedCallsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final SidecarExtension env = new SidecarExtension();
    static TestPki pki;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail trail;
    static ProxyServer proxy;
    static HttpClient client;
    static String token;
    static String taskId;

    @BeforeAll
    static void start() throws Exception {
        pki = env.pki();
        upstream = env.upstream();
        sink = new MemoryAuditSink();
        trail = env.closeAfter(AuditTrail.start(sink, null, 1000));
        proxy = env.start(Sidecar.builder(pki, Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())))).audit(trail));
        client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
        taskId = proxy.tasks().find(token).task().id();
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return client.send(b.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A request to {@code path} carrying the task token. */
    private static HttpRequest.Builder to(String path) {
        return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + path))
                .header("toolgate-task", token);
    }

    /** The records of one decision id, waiting (bounded) until {@code expected} of them were written. */
    private static List<JsonNode> records(String decisionId, int expected) throws Exception {
        return AuditRecords.of(trail, sink).awaitAll("decision " + decisionId, expected,
                AuditRecords.field("decision_id", decisionId));
    }

    private static String lastDecisionIdFor(String operation) throws Exception {
        return AuditRecords.of(trail, sink).awaitLast(operation, AuditRecords.field("operation", operation))
                .get("decision_id").asText();
    }

    @Test
    void aForwardedCallHasADecisionThenAnOutcome() throws Exception {
        HttpResponse<String> res = send(to("/api/weather/v1/forecast?city=Oslo")
                .POST(HttpRequest.BodyPublishers.ofString("12345")));
        assertThat(res.statusCode()).isEqualTo(200);
        String id = lastDecisionIdFor("POST /api/weather/v1/forecast");
        List<JsonNode> recs = records(id, 2);
        assertThat(recs).hasSize(2);
        JsonNode decision = recs.get(0);
        JsonNode outcome = recs.get(1);
        assertThat(decision.get("phase").asText()).isEqualTo("decision");
        assertThat(decision.get("agent").asText()).isEqualTo(TestPki.AGENT.uri());
        assertThat(decision.get("route").asText()).isEqualTo("weather");
        assertThat(decision.get("protocol").asText()).isEqualTo("http");
        assertThat(decision.get("decision").asText()).isEqualTo("allow");
        assertThat(decision.get("code").asText()).isEqualTo("ALLOW");
        assertThat(decision.get("task_id").asText()).isEqualTo(taskId);
        assertThat(decision.get("purpose").asText()).isEqualTo("test: " + TestPki.AGENT.path());
        assertThat(decision.get("grant_id").asText()).isEqualTo("g1");
        assertThat(decision.get("reason").asText()).isEqualTo("granted by g1 of task " + taskId);
        assertThat(decision.has("parent_task_id")).isFalse();
        assertThat(decision.get("decision_us").asLong()).isNotNegative();
        assertThat(decision.get("trace_id").asText()).matches("[0-9a-f]{32}");
        assertThat(outcome.get("phase").asText()).isEqualTo("outcome");
        assertThat(outcome.get("upstream_status").asInt()).isEqualTo(200);
        assertThat(outcome.get("outcome").asText()).isEqualTo("completed");
        assertThat(outcome.get("task_id").asText()).isEqualTo(taskId);
        assertThat(outcome.get("bytes_in").asLong()).isEqualTo(5);
        assertThat(outcome.get("bytes_out").asLong()).isEqualTo(res.body().length());
        assertThat(outcome.get("upstream_ms").asLong()).isNotNegative();
        // The query (which may hold secrets) is not part of the audited operation.
        assertThat(decision.get("operation").asText()).doesNotContain("Oslo");
    }

    @Test
    void aRefusedCallHasADecisionRecordAndTheAnswerNamesIt() throws Exception {
        HttpResponse<String> res = send(to("/api/weather/%2e%2e%2fadmin"));
        assertThat(res.statusCode()).isEqualTo(400);
        String id = JSON.readTree(res.body()).get("decision_id").asText();
        List<JsonNode> recs = records(id, 1);
        assertThat(recs).hasSize(1);
        assertThat(recs.get(0).get("decision").asText()).isEqualTo("deny");
        assertThat(recs.get(0).get("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(recs.get(0).get("reason").asText()).contains("encoded slash");
        // A negative check: only time passing can show that an outcome record does not come.
        Thread.sleep(200);
        assertThat(records(id, 1)).hasSize(1); // no outcome: nothing was forwarded
    }

    @Test
    void anUnknownRouteIsDeniedByPolicy() throws Exception {
        HttpResponse<String> res = send(to("/api/unknown/x"));
        assertThat(res.statusCode()).isEqualTo(404);
        List<JsonNode> recs = records(JSON.readTree(res.body()).get("decision_id").asText(), 1);
        assertThat(recs.get(0).get("code").asText()).isEqualTo("DENY_POLICY");
    }

    @Test
    void aSmugglingAttemptIsAuditedAsMalformed() throws Exception {
        try (RawHttpClient raw = new RawHttpClient(pki.jdkClient(TestPki.AGENT), proxy.port())) {
            RawHttpClient.Response res = raw.exchange("POST /api/weather/x HTTP/1.1\r\nHost: a\r\n"
                    + "toolgate-task: " + token + "\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "0\r\n\r\n");
            assertThat(res.status()).isEqualTo(400);
            List<JsonNode> recs = records(JSON.readTree(res.body()).get("decision_id").asText(), 1);
            assertThat(recs.get(0).get("code").asText()).isEqualTo("DENY_MALFORMED");
            assertThat(recs.get(0).get("agent").asText()).isEqualTo(TestPki.AGENT.uri()); // HTTP/1.1 too
        }
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void anUpstreamFailureIsTheOutcomeOfAnAllowedCall() throws Exception {
        HttpResponse<String> res = send(to("/api/weather/reset"));
        assertThat(res.statusCode()).isEqualTo(502);
        List<JsonNode> recs = records(JSON.readTree(res.body()).get("decision_id").asText(), 2);
        assertThat(recs).extracting(n -> n.get("phase").asText()).containsExactly("decision", "outcome");
        assertThat(recs.get(0).get("code").asText()).isEqualTo("ALLOW");
        assertThat(recs).allSatisfy(r -> assertThat(r.get("task_id").asText()).isEqualTo(taskId));
        assertThat(recs.get(1).get("outcome").asText()).isEqualTo("upstream_reset");
        assertThat(recs.get(1).has("upstream_status")).isFalse();
    }

    @Test
    void credentialsNeverAppearInTheAuditTrail() throws Exception {
        // An allowed call on the real token, and a call on a token the sidecar does not know (denied).
        assertThat(send(to("/api/weather/secret").header("Authorization", "Bearer sk-live-DO-NOT-LOG"))
                .statusCode()).isEqualTo(200);
        records(lastDecisionIdFor("GET /api/weather/secret"), 2);
        HttpResponse<String> unknown = send(HttpRequest.newBuilder(
                        URI.create("https://127.0.0.1:" + proxy.port() + "/api/weather/unknown-token"))
                .header("Authorization", "Bearer sk-live-DO-NOT-LOG")
                .header("toolgate-task", "tg1.SECRET-TOKEN-VALUE"));
        assertThat(unknown.statusCode()).isEqualTo(403);
        List<JsonNode> denied = records(JSON.readTree(unknown.body()).get("decision_id").asText(), 1);
        assertThat(denied.get(0).get("code").asText()).isEqualTo("DENY_NO_TASK");
        assertThat(String.join("\n", sink.lines)).doesNotContain("sk-live-DO-NOT-LOG")
                .doesNotContain(token).doesNotContain(token.substring("tg1.".length()))
                .doesNotContain("SECRET-TOKEN-VALUE");
    }

    @Test
    void whenTheTrailCannotAcceptTheCallIsDeniedAndNotForwarded() throws Exception {
        // After the task's start, a writer that never finishes (a hung disk): the sidecar must fail closed.
        GatedAuditSink stuck = new GatedAuditSink();
        stuck.open();
        AuditTrail full = AuditTrail.start(stuck, null, 1, Clock.systemUTC(), AuditFsync.NEVER,
                Duration.ofSeconds(1), Duration.ofMillis(200));
        try (ProxyServer strict = Sidecar.builder(pki, Sidecar.config(List.of(
                        Sidecar.route("weather", "/api/weather", upstream.url())))
                .withAudit(new AuditConfig(null, 1, Duration.ofMillis(200), null, null))).audit(full).build()) {
            String strictToken = Sidecar.taskForEverything(strict, TestPki.AGENT);
            stuck.hold();
            int forwardedBefore = upstream.requests.size();
            HttpRequest.Builder b = HttpRequest.newBuilder(
                    URI.create("https://127.0.0.1:" + strict.port() + "/api/weather/x"))
                    .header("toolgate-task", strictToken);
            List<Integer> statuses = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                statuses.add(send(b).statusCode());
            }
            // The first call's decision record never reaches the file: refused after audit.maxWait; the trail is
            // then stalled, and later calls are refused at once.
            assertThat(statuses).containsExactly(503, 503, 503);
            HttpResponse<String> res = send(b);
            assertThat(res.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(res.body()).get("error").asText()).isEqualTo("audit_unavailable");
            assertThat(upstream.requests).hasSize(forwardedBefore);
        } finally {
            stuck.open();
            full.close();
        }
    }
}
