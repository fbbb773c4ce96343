package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.config.LimitsConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.SidecarExtension;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.io.IOException;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Agent connections beyond the configured maximum are closed at accept; a freed slot can be used again; one identity
 * holding its share does not lock another out.
 */
class ConnectionLimitTest {
    @RegisterExtension
    final SidecarExtension env = new SidecarExtension();

    @Test
    void connectionsOverTheLimitAreClosed() throws Exception {
        TestPki pki = env.pki();
        TestUpstream upstream = env.upstream();
        ProxyServer proxy = env.sidecar(Sidecar.config(List.of(
                Sidecar.route("weather", "/api/weather", upstream.url())))
                .withLimits(new LimitsConfig(null, null, null, 2)));
        SSLContext tls = pki.jdkClient(TestPki.AGENT);
        String get = "GET /api/weather/x HTTP/1.1\r\nHost: a\r\ntoolgate-task: "
                + Sidecar.taskForEverything(proxy, TestPki.AGENT) + "\r\n\r\n";
        try (RawHttpClient first = new RawHttpClient(tls, proxy.port());
             RawHttpClient second = new RawHttpClient(tls, proxy.port())) {
            assertThat(first.exchange(get).status()).isEqualTo(200);
            assertThat(second.exchange(get).status()).isEqualTo(200);
            assertThatThrownBy(() -> new RawHttpClient(tls, proxy.port()).exchange(get))
                    .isInstanceOf(IOException.class);
        }
        // Both closed: the slots are free again (the server notices the close asynchronously).
        Await.until("a freed connection slot", () -> {
            try (RawHttpClient again = new RawHttpClient(tls, proxy.port())) {
                return again.exchange(get).status() == 200;
            } catch (IOException e) {
                return false;
            }
        });
    }

    @Test
    void oneIdentityHoldingItsShareDoesNotStopAnother() throws Exception {
        TestPki pki = env.pki();
        TestUpstream upstream = env.upstream();
        ProxyMetrics metrics = ProxyMetrics.create();
        ProxyServer proxy = env.start(env.builder(Sidecar.config(List.of(
                Sidecar.route("weather", "/api/weather", upstream.url())))
                .withLimits(new LimitsConfig(null, null, null, 4, 2, null, null, null, null))).metrics(metrics));
        SpiffeId other = SpiffeId.parse("spiffe://toolgate.test/agents/writer");
        SSLContext greedy = pki.jdkClient(TestPki.AGENT);
        String get = "GET /api/weather/x HTTP/1.1\r\nHost: a\r\ntoolgate-task: %s\r\n\r\n";
        String greedyGet = get.formatted(Sidecar.taskForEverything(proxy, TestPki.AGENT));
        String otherGet = get.formatted(Sidecar.taskForEverything(proxy, other));
        try (RawHttpClient first = new RawHttpClient(greedy, proxy.port());
             RawHttpClient second = new RawHttpClient(greedy, proxy.port())) {
            assertThat(first.exchange(greedyGet).status()).isEqualTo(200);
            assertThat(second.exchange(greedyGet).status()).isEqualTo(200);
            assertThatThrownBy(() -> new RawHttpClient(greedy, proxy.port()).exchange(greedyGet))
                    .as("a third connection of the same identity").isInstanceOf(IOException.class);
            try (RawHttpClient another = new RawHttpClient(pki.jdkClient(other), proxy.port())) {
                assertThat(another.exchange(otherGet).status()).isEqualTo(200);
            }
        }
        assertThat(metrics.scrape()).contains("toolgate_connections_refused_total{limit=\"identity\"} 1.0");
    }
}
