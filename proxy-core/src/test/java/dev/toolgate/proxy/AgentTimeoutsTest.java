package dev.toolgate.proxy;

import static dev.toolgate.testing.AuditRecords.field;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toolgate.config.LimitsConfig;
import dev.toolgate.config.TimeoutsConfig;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.RawHttp2Client;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.SidecarExtension;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Agents that hold a connection without using it are cut off: a TLS handshake, a request head, a kept-alive HTTP/1.1
 * connection, an HTTP/2 connection without streams, a request body, each within its {@code limits:} timeout; an
 * exchange waiting on its upstream is not.
 */
class AgentTimeoutsTest {
    private static final Duration SHORT = Duration.ofMillis(300);

    @RegisterExtension
    final SidecarExtension env = new SidecarExtension();
    private final ProxyMetrics metrics = ProxyMetrics.create();
    private SidecarExtension.MemoryAudit audit;
    private ProxyServer proxy;
    private String token;

    @BeforeEach
    void start() throws Exception {
        TestUpstream upstream = env.upstream();
        audit = env.memoryAudit();
        proxy = env.start(env.builder(Sidecar.config(List.of(
                        Sidecar.route("weather", "/api/weather", upstream.url(),
                                new TimeoutsConfig(null, Duration.ofSeconds(1), null))))
                        .withLimits(new LimitsConfig(null, null, null, null, null, SHORT, SHORT, SHORT, SHORT)))
                .audit(audit.trail()).metrics(metrics));
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
    }

    private RawHttpClient agent() throws Exception {
        return new RawHttpClient(env.pki().jdkClient(TestPki.AGENT), proxy.port());
    }

    @Test
    void aConnectionThatNeverHandshakesIsClosed() throws Exception {
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5000);
            raw.setSoTimeout(5000);
            assertThat(raw.getInputStream().read()).as("closed by the sidecar").isEqualTo(-1);
        }
    }

    @Test
    void aHeadThatNeverEndsIsClosed() throws Exception {
        try (RawHttpClient agent = agent()) {
            agent.send("GET /api/weather/x HTTP/1.1\r\nHost: a\r\nx-slow: ");
            Await.until("the connection closed", agent::serverClosed);
        }
        assertThat(metrics.scrape()).contains("toolgate_agent_timeouts_total{timeout=\"head\"} 1.0");
    }

    @Test
    void anIdleKeptAliveConnectionIsClosed() throws Exception {
        try (RawHttpClient agent = agent()) {
            assertThat(agent.exchange("GET /api/weather/x HTTP/1.1\r\nHost: a\r\ntoolgate-task: " + token
                    + "\r\n\r\n").status()).isEqualTo(200);
            Await.until("the connection closed", agent::serverClosed);
        }
        assertThat(metrics.scrape()).contains("toolgate_agent_timeouts_total{timeout=\"idle\"} 1.0");
    }

    @Test
    void anHttp2ConnectionWithoutStreamsIsClosed() throws Exception {
        try (RawHttp2Client agent = RawHttp2Client.connect(env.pki(), TestPki.AGENT, proxy.port())) {
            assertThat(agent.exchange(RawHttp2Client.request("GET", "/api/weather/x").add("toolgate-task", token),
                    null).status()).isEqualTo(200);
            assertThat(agent.awaitClosed(Duration.ofSeconds(5))).isTrue();
        }
    }

    @Test
    void aStalledRequestBodyIs408() throws Exception {
        try (RawHttpClient agent = agent()) {
            RawHttpClient.Response res = agent.exchange("POST /api/weather/x HTTP/1.1\r\nHost: a\r\ntoolgate-task: "
                    + token + "\r\nContent-Length: 100\r\n\r\nonly ten..");
            assertThat(res.status()).isEqualTo(408);
            assertThat(res.body()).contains("request_timeout");
        }
        JsonNode outcome = audit.records().awaitLast("the outcome", field("phase", "outcome"));
        assertThat(outcome.get("outcome").asText()).isEqualTo("request_timeout");
        assertThat(metrics.scrape()).contains("toolgate_agent_timeouts_total{timeout=\"body\"} 1.0");
    }

    @Test
    void noAgentTimerRunsWhileTheUpstreamIsAwaited() throws Exception {
        // The upstream never answers /slow; the route's response timeout (1 s) ends the call, not the 300 ms timers.
        try (RawHttpClient agent = agent()) {
            RawHttpClient.Response res = agent.exchange("GET /api/weather/slow HTTP/1.1\r\nHost: a\r\ntoolgate-task: "
                    + token + "\r\n\r\n");
            assertThat(res.status()).isEqualTo(504);
            assertThat(res.body()).contains("upstream_timeout");
        }
    }
}
