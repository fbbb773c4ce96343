package dev.toolgate.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.common.Protocol;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps the harness from rotting: a few seconds of real load against the benchmark upstreams, directly and through
 * the real sidecar over mTLS (HTTP/1.1, HTTP/2, MCP body, gRPC), every call through the sidecar carrying the token
 * of a task that may do anything (as {@code run.sh} sends one). Asserts only that requests completed and the
 * report has percentiles: this is no performance test.
 */
class LoadGeneratorSmokeTest {
    private static final Duration WINDOW = Duration.ofMillis(500);

    @TempDir
    static Path dir;

    private static BenchUpstream upstream;
    private static GrpcUpstream grpc;
    private static ProxyServer proxy;
    private static Path agent;
    private static String token;

    @BeforeAll
    static void start() throws Exception {
        upstream = BenchUpstream.start(0, 1, 1024);
        grpc = GrpcUpstream.start(0, 1024);
        TestPki pki = TestPki.create(dir);
        agent = pki.files(TestPki.AGENT);
        proxy = Sidecar.start(pki, Sidecar.config(List.of(
                Sidecar.route("bench", "/bench", "http://127.0.0.1:" + upstream.port()),
                new RouteConfig("tools", "/mcp/bench", null, Protocol.MCP,
                        new UpstreamConfig(URI.create("http://127.0.0.1:" + upstream.port()), null, null), null, null),
                new RouteConfig("simple", null, "grpc.testing.SimpleService", null,
                        new UpstreamConfig(URI.create("http://127.0.0.1:" + grpc.port()), null, null), null, null))));
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (grpc != null) {
            grpc.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    @Test
    void openLoopDirectOverPlainHttp() throws Exception {
        LoadReport r = LoadGenerator.run(LoadOptions.of(URI.create("http://127.0.0.1:" + upstream.port() + "/x"),
                LoadOptions.Protocol.H1, 500, 4, WINDOW));
        assertCompleted(r, 500);
        assertThat(r.tls()).isEmpty();
    }

    @Test
    void closedLoopThroughTheSidecarOverMtlsHttp1() throws Exception {
        LoadReport r = LoadGenerator.run(viaSidecar("/bench/x", LoadOptions.Protocol.H1, 0));
        assertCompleted(r, 0);
        assertThat(r.tls()).startsWith("TLSv1.3");
    }

    @Test
    void openLoopThroughTheSidecarOverMtlsHttp2() throws Exception {
        LoadReport r = LoadGenerator.run(viaSidecar("/bench/x", LoadOptions.Protocol.H2, 200));
        assertCompleted(r, 200);
        assertThat(r.tls()).contains("alpn=h2");
    }

    @Test
    void mcpToolsCallAndGrpcUnaryThroughTheSidecar() throws Exception {
        LoadReport mcp = LoadGenerator.run(viaSidecar("/mcp/bench", LoadOptions.Protocol.H1, 200)
                .withPayload(LoadOptions.Payload.MCP));
        assertCompleted(mcp, 200);
        LoadReport unary = LoadGenerator.run(viaSidecar("/", LoadOptions.Protocol.H2, 200)
                .withPayload(LoadOptions.Payload.GRPC));
        assertCompleted(unary, 200);
    }

    @Test
    void withoutAClientCertificateNothingCompletes() throws Exception {
        LoadOptions noCert = viaSidecar("/bench/x", LoadOptions.Protocol.H1, 100).withTls(null, null, null);
        LoadReport r;
        try {
            r = LoadGenerator.run(noCert);
        } catch (IOException refusedInTheHandshake) {
            return; // TLS 1.2, or a TLS 1.3 alert that arrived before the handshake future completed
        }
        // TLS 1.3: the client's handshake completes before the sidecar refuses its (missing) certificate
        assertThat(r.completed()).as(r.summary()).isZero();
        assertThat(r.errors() + r.notSent()).as(r.summary()).isPositive();
    }

    @Test
    void withoutATaskTokenEveryCallIsDenied() throws Exception {
        LoadReport r = LoadGenerator.run(LoadOptions.of(URI.create("https://127.0.0.1:" + proxy.port() + "/bench/x"),
                        LoadOptions.Protocol.H1, 100, 1, WINDOW)
                .withTls(agent.resolve("svid.pem"), agent.resolve("svid.key"), agent.resolve("bundle.pem")));
        assertThat(r.completed()).as(r.summary()).isZero();
        assertThat(r.errors()).as(r.summary()).isPositive();
        assertThat(r.summary()).contains("HTTP status 403");
    }

    @Test
    void theReportCarriesWhatTheResultsWriterReads() throws Exception {
        LoadReport r = LoadGenerator.run(LoadOptions.of(URI.create("http://127.0.0.1:" + upstream.port() + "/x"),
                LoadOptions.Protocol.H1, 200, 2, Duration.ofMillis(300)));
        Properties p = r.toProperties();
        assertThat(p.stringPropertyNames()).contains("achievedRps", "p50us", "p90us", "p99us", "p999us", "errors",
                "cpuPer1k");
        Path results = Files.createDirectories(dir.resolve("results/runs"));
        for (String target : List.of("direct", "toolgate")) {
            try (var out = Files.newOutputStream(results.resolve("rate1000__" + target + "__1.properties"))) {
                p.store(out, null);
            }
        }
        Files.writeString(dir.resolve("results/meta.properties"), "scenarios=rate1000\ndate=today\n");
        Path md = dir.resolve("RESULTS.md");
        ResultsWriter.write(dir.resolve("results"), md);
        assertThat(Files.readString(md)).contains("| toolgate |", "| direct |", "## Goals");
    }

    private static LoadOptions viaSidecar(String path, LoadOptions.Protocol protocol, int rate) {
        return LoadOptions.of(URI.create("https://127.0.0.1:" + proxy.port() + path), protocol, rate, 2, WINDOW)
                .withTls(agent.resolve("svid.pem"), agent.resolve("svid.key"), agent.resolve("bundle.pem"))
                .withHeader("toolgate-task", token);
    }

    private static void assertCompleted(LoadReport r, int rate) {
        assertThat(r.errors()).as(r.summary()).isZero();
        assertThat(r.completed()).as(r.summary()).isPositive();
        assertThat(r.latency().getTotalCount()).isEqualTo(r.completed());
        assertThat(r.micros(50)).isPositive();
        assertThat(r.micros(99.9)).isGreaterThanOrEqualTo(r.micros(99)).isGreaterThanOrEqualTo(r.micros(50));
        if (rate > 0) {
            assertThat(r.rate()).isEqualTo(rate);
        }
    }
}
