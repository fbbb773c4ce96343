package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.config.AccessConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.SidecarExtension;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** access.agents: a valid SVID that is not on the list is turned away before any request is read. */
class ListenerAllowListTest {
    @RegisterExtension
    final SidecarExtension env = new SidecarExtension();

    @Test
    void onlyListedIdsAreServed() throws Exception {
        TestPki pki = env.pki();
        ProxyMetrics metrics = ProxyMetrics.create();
        TestUpstream upstream = env.upstream();
        ProxyServer proxy = env.start(env.builder(Sidecar.config(List.of(
                        Sidecar.route("weather", "/api/weather", upstream.url())))
                        .withAccess(AccessConfig.defaults().withAgents(List.of("spiffe://toolgate.test/agents/*"))))
                .audit(env.memoryAudit().trail()).metrics(metrics));
        try (RawHttpClient agent = new RawHttpClient(pki.jdkClient(TestPki.AGENT), proxy.port())) {
            assertThat(agent.exchange(get(Sidecar.taskForEverything(proxy, TestPki.AGENT))).status())
                    .isEqualTo(200);
        }
        SpiffeId tool = SpiffeId.parse("spiffe://toolgate.test/tools/crm");
        // With a task of its own, so that only the listener's list can keep it out.
        String toolToken = Sidecar.taskForEverything(proxy, tool);
        assertThatThrownBy(() -> {
            try (RawHttpClient other = new RawHttpClient(pki.jdkClient(tool), proxy.port())) {
                other.exchange(get(toolToken));
            }
        }).isInstanceOf(IOException.class);
        assertThat(upstream.requests).hasSize(1);
        assertThat(metrics.scrape()).contains("toolgate_tls_handshake_failures_total{reason=\"id_not_allowed\"} 1.0");
    }

    private static String get(String token) {
        return "GET /api/weather/x HTTP/1.1\r\nHost: a\r\ntoolgate-task: " + token + "\r\n\r\n";
    }
}
