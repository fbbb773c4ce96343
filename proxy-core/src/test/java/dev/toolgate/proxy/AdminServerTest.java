package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin port: probes and Prometheus metrics that reflect the calls the data plane saw. */
class AdminServerTest {
    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static AuditTrail trail;
    static ProxyMetrics metrics;
    static ProxyServer proxy;
    static AdminServer admin;
    static final AtomicBoolean ready = new AtomicBoolean(true);
    static final HttpClient plain = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        trail = AuditTrail.start(new MemoryAuditSink(), null, 1000);
        metrics = ProxyMetrics.create();
        proxy = Sidecar.start(pki, Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url()))),
                trail, metrics);
        admin = AdminServer.start("127.0.0.1", 0, metrics, ready::get);
    }

    @AfterAll
    static void stop() {
        admin.close();
        proxy.close();
        trail.close();
        upstream.close();
    }

    private static HttpResponse<String> adminGet(String path) throws Exception {
        return plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.address().getPort() + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void probesAnswer() throws Exception {
        assertThat(adminGet("/healthz").statusCode()).isEqualTo(200);
        assertThat(adminGet("/readyz").statusCode()).isEqualTo(200);
        ready.set(false);
        try {
            assertThat(adminGet("/readyz").statusCode()).isEqualTo(503);
        } finally {
            ready.set(true);
        }
        assertThat(adminGet("/nope").statusCode()).isEqualTo(404);
    }

    @Test
    void metricsCountDecisionsByRouteAndCode() throws Exception {
        SSLContext tls = pki.jdkClient(TestPki.AGENT);
        HttpClient agent = HttpClient.newBuilder().sslContext(tls).build();
        String base = "https://127.0.0.1:" + proxy.port();
        String token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
        for (int i = 0; i < 3; i++) {
            agent.send(HttpRequest.newBuilder(URI.create(base + "/api/weather/x")).header("toolgate-task", token)
                    .build(), HttpResponse.BodyHandlers.discarding());
        }
        agent.send(HttpRequest.newBuilder(URI.create(base + "/api/nope")).header("toolgate-task", token).build(),
                HttpResponse.BodyHandlers.discarding());
        // A call on a known route without a task: denied by the authorizer, counted under the route.
        agent.send(HttpRequest.newBuilder(URI.create(base + "/api/weather/x")).build(),
                HttpResponse.BodyHandlers.discarding());
        HttpResponse<String> res = adminGet("/metrics");
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.body())
                .contains("toolgate_calls_total{code=\"ALLOW\",decision=\"allow\",route=\"weather\"} 3.0")
                .contains("toolgate_calls_total{code=\"DENY_POLICY\",decision=\"deny\",route=\"none\"} 1.0")
                .contains("toolgate_calls_total{code=\"DENY_NO_TASK\",decision=\"deny\",route=\"weather\"} 1.0")
                .contains("toolgate_decision_seconds_bucket{")
                .contains("toolgate_upstream_seconds_count{outcome=\"completed\",route=\"weather\"} 3")
                .contains("toolgate_audit_queue_depth");
    }

    @Test
    void refusedHandshakesAreCounted() throws Exception {
        HttpClient noCert = HttpClient.newBuilder()
                .sslContext(dev.toolgate.identity.JdkSslContexts.client(
                        dev.toolgate.identity.DevCa.openOrCreate(dir.resolve("other"), TestPki.TRUST_DOMAIN)
                                .issue(TestPki.AGENT), pki.ca().bundles()))
                .build();
        try {
            noCert.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/api/weather/x"))
                    .build(), HttpResponse.BodyHandlers.discarding());
        } catch (java.io.IOException expected) {
            // the handshake is refused
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        String body = "";
        while (System.nanoTime() < deadline && !body.contains("toolgate_tls_handshake_failures_total")) {
            body = adminGet("/metrics").body();
            Thread.sleep(20);
        }
        assertThat(body).contains("toolgate_tls_handshake_failures_total{reason=\"certificate_rejected\"}");
    }
}
