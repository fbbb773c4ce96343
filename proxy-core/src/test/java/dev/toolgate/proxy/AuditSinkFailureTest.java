package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.AuditVerifier;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.FailingAuditSink;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sink that fails (a full disk) through the real sidecar: granted calls fail closed at once, not after
 * {@code audit.maxWait}, and nothing reaches the upstream; once the sink writes again, calls are forwarded without a
 * restart, the record the writer held is not lost, and a gap record counts what was refused.
 */
class AuditSinkFailureTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Large on purpose: a call denied in well under it was not waiting for room in the queue. */
    static final Duration MAX_WAIT = Duration.ofSeconds(10);
    static final int QUEUE = 65_536;

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

    @Test
    void callsFailClosedAtOnceWhileTheSinkFailsAndResumeWithAGapRecordWhenItWritesAgain() throws Exception {
        FailingAuditSink disk = new FailingAuditSink();
        AuditTrail trail = AuditTrail.start(disk, null, QUEUE);
        SidecarConfig cfg = Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())))
                .withAudit(new AuditConfig(null, QUEUE, MAX_WAIT, null, null));
        try (ProxyServer proxy = Sidecar.builder(pki, cfg).audit(trail).build()) {
            String token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
            HttpClient client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
            assertThat(get(client, proxy, token, "before").statusCode()).isEqualTo(200);
            // The task's start, the call's decision and its outcome (offered just after the answer went out).
            Await.until("3 records written", () -> trail.written() == 3);

            disk.fail();
            // The trail takes this task's record before any write failed; the writer finds the disk full on it,
            // keeps it to retry, and the start is refused: its record is not in the file.
            assertThatThrownBy(() -> Sidecar.taskForEverything(proxy, TestPki.AGENT))
                    .hasMessageContaining("could not be audited");
            Await.until("the sink refused a write", () -> disk.failures.get() > 0);
            int forwarded = upstream.requests.size();
            long t0 = System.nanoTime();
            HttpResponse<String> during = get(client, proxy, token, "during");
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertThat(during.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(during.body()).path("error").asText()).isEqualTo("audit_unavailable");
            assertThat(tookMs).as("denied at once, not after audit.maxWait (%s)", MAX_WAIT)
                    .isLessThan(MAX_WAIT.toMillis() / 5);
            assertThat(upstream.requests).as("nothing forwarded while the audit file cannot be written")
                    .hasSize(forwarded);
            assertThat(trail.refusedCount()).isEqualTo(1);

            disk.recover();
            Await.until("a gap record", () -> !gaps(disk.lines).isEmpty());
            HttpResponse<String> after = get(client, proxy, token, "after");
            assertThat(after.statusCode()).as("forwarded again, without a restart").isEqualTo(200);
            assertThat(upstream.requests).hasSize(forwarded + 1);
            // Two tasks (one refused), two calls' decisions and outcomes, the gap and the written_late record.
            Await.until("8 lines written", () -> disk.lines.size() == 8);
        } finally {
            trail.close();
        }
        List<JsonNode> gaps = gaps(disk.lines);
        assertThat(gaps).hasSize(2);
        assertThat(gaps.get(0).path("count").asLong()).isEqualTo(1);
        assertThat(gaps.get(0).path("reason").asText()).contains("1 calls denied ERROR_FAIL_CLOSED");
        // The refused start's record reached the file once the disk had room: the written_late record says that
        // this start did not happen.
        String refusedStart = JSON.readTree(disk.lines.get(3)).path("decision_id").asText();
        assertThat(gaps.get(1).path("event").asText()).isEqualTo("written_late");
        assertThat(gaps.get(1).path("reason").asText()).contains(refusedStart);
        List<String> phases = new ArrayList<>();
        for (String line : disk.lines) {
            phases.add(JSON.readTree(line).path("phase").asText());
        }
        // The second task's record, accepted before the failure, was retried and written, before the gaps.
        assertThat(phases).containsExactly("task", "decision", "outcome", "task", "gap", "gap", "decision",
                "outcome");
        Path file = Files.createTempFile(dir, "audit", ".jsonl");
        Files.write(file, disk.lines);
        AuditVerifier.Result chain = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(chain.ok()).as(chain.toString()).isTrue();
    }

    static HttpResponse<String> get(HttpClient client, ProxyServer proxy, String token, String city)
            throws Exception {
        return client.send(HttpRequest.newBuilder(
                        URI.create("https://127.0.0.1:" + proxy.port() + "/api/weather/" + city))
                .timeout(Duration.ofSeconds(30)).header("toolgate-task", token).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static List<JsonNode> gaps(List<String> lines) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : lines) {
            JsonNode n = JSON.readTree(line);
            if (n.path("phase").asText().equals("gap")) {
                out.add(n);
            }
        }
        return out;
    }
}
