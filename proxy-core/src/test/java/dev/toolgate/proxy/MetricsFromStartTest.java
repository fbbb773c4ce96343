package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.telemetry.ProxyMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a fresh sidecar's {@code /metrics} shows before anything happened: every counter whose labels are known, at
 * 0 and typed as a counter (a dashboard or an alert on a rate sees the series from the start, not "no data"); the
 * reload failures are counters, never gauges.
 */
class MetricsFromStartTest {
    @TempDir
    Path dir;

    @Test
    void countersArePresentFromTheStartWithTheirType() throws Exception {
        TestPki pki = TestPki.create(dir);
        Path policies = Files.createDirectories(dir.resolve("policies"));
        try (ProxyServer server = Sidecar.start(pki, Sidecar.config(List.of()).withPolicies(List.of(policies)))) {
            String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                            + server.admin().address().getPort() + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            for (String reason : ProxyMetrics.HANDSHAKE_FAILURE_REASONS) {
                assertThat(body).contains("toolgate_tls_handshake_failures_total{reason=\"" + reason + "\"} 0.0");
            }
            for (String timer : ProxyMetrics.AGENT_TIMEOUTS) {
                assertThat(body).contains("toolgate_agent_timeouts_total{timeout=\"" + timer + "\"} 0.0");
            }
            assertThat(body).contains("toolgate_routes_reload_failures_total 0.0",
                    "toolgate_policy_reload_failures_total 0.0",
                    "toolgate_audit_fail_closed_total 0.0",
                    "toolgate_connections_refused_total{limit=\"connections\"} 0.0");
            for (String counter : List.of("toolgate_tls_handshake_failures", "toolgate_agent_timeouts",
                    "toolgate_routes_reload_failures", "toolgate_policy_reload_failures")) {
                assertThat(body).as("%s is typed as a counter", counter)
                        .containsPattern("(?m)^# TYPE " + counter + "(_total)? counter$")
                        .doesNotContainPattern("(?m)^# TYPE " + counter + "(_total)? gauge$");
            }
        }
    }
}
