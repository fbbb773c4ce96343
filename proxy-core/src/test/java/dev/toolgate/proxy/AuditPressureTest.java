package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditFsync;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.AuditVerifier;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.GatedAuditSink;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit trail under pressure, through the real sidecar: a sink slower than the calls holds them back and loses
 * nothing; a sink that stalls past {@code audit.maxWait} makes calls fail closed, and once it moves again one gap
 * record in the chain says how many records were refused and when.
 */
class AuditPressureTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
    }

    @AfterAll
    static void stop() {
        upstream.close();
    }

    static SidecarConfig config(int queue, Duration maxWait) {
        return Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())))
                .withAudit(new AuditConfig(null, queue, maxWait, null, null));
    }

    @Test
    void aSlowSinkSlowsCallsDownAndEveryRecordIsWritten() throws Exception {
        // After the task's start, the sink holds its next write until the test lets it go (a disk slower than the
        // calls): the queue of 4 fills, and later calls must wait for room instead of being forwarded or losing
        // their records.
        GatedAuditSink slow = new GatedAuditSink();
        slow.open();
        AuditTrail trail = AuditTrail.start(slow, null, 4, Clock.systemUTC(), AuditFsync.NEVER,
                Duration.ofSeconds(1), Duration.ofSeconds(30));
        ProxyMetrics metrics = ProxyMetrics.create();
        int calls = 60;
        try (ProxyServer proxy = Sidecar.builder(pki, config(4, Duration.ofSeconds(30))).audit(trail).metrics(metrics).build()) {
            String token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
            slow.hold();
            int forwardedBefore = upstream.requests.size();
            HttpClient client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
            List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                sent.add(client.sendAsync(HttpRequest.newBuilder(
                                URI.create("https://127.0.0.1:" + proxy.port() + "/api/weather/c" + i))
                        .timeout(Duration.ofSeconds(30)).header("toolgate-task", token).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            Await.until("a record waiting for room", Duration.ofSeconds(20), () -> metrics.auditWaits() > 0);
            assertThat(metrics.auditWaits()).as("records waited for room: the calls were held back").isPositive();
            // A negative check: only time passing can show that the held calls are not forwarded.
            Thread.sleep(200);
            // No call was forwarded (or answered): none has its decision record in the file yet.
            assertThat(sent.stream().filter(CompletableFuture::isDone).count()).isZero();
            assertThat(upstream.requests).hasSize(forwardedBefore);
            slow.open();
            for (CompletableFuture<HttpResponse<String>> f : sent) {
                assertThat(f.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            }
            // An outcome record is offered when its exchange ends, just after the answer went out: it may still be
            // waiting for room here. Give them time to be taken (they are, within audit.maxWait).
            awaitAccepted(trail, 1 + 2L * calls);
            assertThat(metrics.scrape()).contains("toolgate_audit_backpressure_waits_total");
        } finally {
            trail.close();
        }
        // Count sent = count written: the task's start, then a decision and an outcome for each call.
        assertThat(trail.refusedCount()).isZero();
        assertThat(trail.written()).isEqualTo(trail.accepted()).isEqualTo(1 + 2L * calls);
        assertThat(slow.lines).hasSize(1 + 2 * calls);
        Set<String> decided = new HashSet<>();
        Set<String> finished = new HashSet<>();
        for (String line : slow.lines) {
            JsonNode n = JSON.readTree(line);
            String op = n.path("operation").asText();
            if (n.path("phase").asText().equals("decision")) {
                decided.add(op);
            } else if (n.path("phase").asText().equals("outcome")) {
                finished.add(op);
            }
        }
        assertThat(decided).hasSize(calls).isEqualTo(finished);
        assertThat(verify(slow.lines).ok()).isTrue();
    }

    @Test
    void callsTheTrailCannotTakeAreDeniedAndOneGapRecordCountsThemWhenItMovesAgain() throws Exception {
        GatedAuditSink stalled = new GatedAuditSink();
        stalled.open();
        AuditTrail trail = AuditTrail.start(stalled, null, 1, Clock.systemUTC(), AuditFsync.NEVER,
                Duration.ofSeconds(1), Duration.ofMillis(200));
        List<Integer> statuses = new ArrayList<>();
        Instant before = Instant.now();
        try (ProxyServer proxy = Sidecar.builder(pki, config(1, Duration.ofMillis(200))).audit(trail).build()) {
            String token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
            // The disk hangs from now on: the first call's decision record goes to the writer, which hangs at the
            // sink's gate.
            stalled.hold();
            int forwardedBefore = upstream.requests.size();
            HttpClient client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> res = client.send(HttpRequest.newBuilder(
                                URI.create("https://127.0.0.1:" + proxy.port() + "/api/weather/g" + i))
                        .timeout(Duration.ofSeconds(10)).header("toolgate-task", token).build(),
                        HttpResponse.BodyHandlers.ofString());
                statuses.add(res.statusCode());
                if (res.statusCode() == 503) {
                    assertThat(JSON.readTree(res.body()).path("error").asText()).isEqualTo("audit_unavailable");
                }
            }
            // The first call's decision record was taken, but not written within audit.maxWait: refused. The trail
            // then counts as stalled, so the later calls were refused at once, without a decision record.
            assertThat(statuses).containsExactly(503, 503, 503, 503);
            assertThat(upstream.requests).as("nothing forwarded while the audit file is not written")
                    .hasSize(forwardedBefore);
            long refused = 3;
            Await.until("refused records counted", Duration.ofSeconds(10), () -> trail.refusedCount() >= refused);
            assertThat(trail.refusedCount()).isEqualTo(refused);
            assertThat(stalled.lines).as("only the task's start").hasSize(1);

            stalled.open();
            Await.until("a gap record", Duration.ofSeconds(10), () -> !gaps(stalled).isEmpty());
            List<JsonNode> gaps = gaps(stalled);
            JsonNode gap = gaps.get(0);
            assertThat(gap.path("code").asText()).isEqualTo("ERROR_FAIL_CLOSED");
            assertThat(gap.path("outcome").asText()).isEqualTo("audit_unavailable");
            assertThat(gap.path("count").asLong()).isEqualTo(refused);
            assertThat(gap.path("reason").asText()).contains("3 calls denied ERROR_FAIL_CLOSED")
                    .contains("0 forwarded calls without an outcome record");
            Instant first = Instant.parse(gap.path("first_ts").asText());
            Instant last = Instant.parse(gap.path("last_ts").asText());
            assertThat(first).isAfterOrEqualTo(before.minusMillis(1)).isBeforeOrEqualTo(last);
            assertThat(last).isBeforeOrEqualTo(Instant.parse(gap.path("ts").asText()));
            assertThat(gap.path("decision_id").asText()).matches("[0-9a-f]{32}");

            // The trail takes calls again, and the gap is part of the one chain.
            HttpResponse<String> after = client.send(HttpRequest.newBuilder(
                            URI.create("https://127.0.0.1:" + proxy.port() + "/api/weather/after"))
                    .timeout(Duration.ofSeconds(10)).header("toolgate-task", token).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(after.statusCode()).isEqualTo(200);
            awaitAccepted(trail, 4); // start, decision of the first call, the last call's decision and outcome
        } finally {
            trail.close();
        }
        // The first call's decision record reached the file after its call was refused: a written_late record
        // names it, so the file does not read as if that call had been forwarded.
        List<JsonNode> all = gaps(stalled);
        assertThat(all).hasSize(2);
        JsonNode late = all.get(1);
        assertThat(late.path("event").asText()).isEqualTo("written_late");
        assertThat(late.path("count").asLong()).isEqualTo(1);
        String firstDecision = JSON.readTree(stalled.lines.get(1)).path("decision_id").asText();
        assertThat(late.path("reason").asText()).contains("not forwarded").contains(firstDecision);
        AuditVerifier.Result chain = verify(stalled.lines);
        assertThat(chain.ok()).as(chain.toString()).isTrue();
        // Task start, the first call's decision, the gap, written_late, and the last call's decision and outcome.
        assertThat(chain.records()).isEqualTo(6);
    }

    static void awaitAccepted(AuditTrail trail, long expected) throws Exception {
        Await.until(expected + " records accepted", Duration.ofSeconds(30), () -> trail.accepted() >= expected);
        assertThat(trail.accepted()).isEqualTo(expected);
    }

    static List<JsonNode> gaps(GatedAuditSink sink) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : sink.lines) {
            JsonNode n = JSON.readTree(line);
            if (n.path("phase").asText().equals("gap")) {
                out.add(n);
            }
        }
        return out;
    }

    static AuditVerifier.Result verify(List<String> lines) throws Exception {
        Path file = Files.createTempFile(dir, "audit", ".jsonl");
        Files.write(file, lines);
        return AuditVerifier.verifyFromGenesis(List.of(file));
    }
}
