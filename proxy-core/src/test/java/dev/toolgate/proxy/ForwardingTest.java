package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.config.TimeoutsConfig;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.SidecarExtension;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The forwarding path with a real JDK client over mTLS: routing, header handling and upstream failures. Every call
 * carries the token of a task that may do anything on every route.
 */
class ForwardingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final SidecarExtension env = new SidecarExtension();
    static TestPki pki;
    static TestUpstream upstream;
    static ProxyServer proxy;
    static HttpClient client;
    static int deadPort;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        pki = env.pki();
        upstream = env.upstream();
        try (ServerSocket s = new ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        proxy = env.sidecar(Sidecar.config(List.of(
                Sidecar.route("weather", "/api/weather", upstream.url() + "/base"),
                Sidecar.route("root", "/api/root", upstream.url()),
                Sidecar.route("down", "/api/down", "http://127.0.0.1:" + deadPort),
                Sidecar.route("slow", "/api/slow", upstream.url(),
                        new TimeoutsConfig(null, Duration.ofMillis(300), null)))));
        client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT))
                .version(HttpClient.Version.HTTP_1_1).build();
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
    }

    private HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token);
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void forwardsWithPrefixStrippedAndBasePathAdded() throws Exception {
        HttpResponse<String> res = get("/api/weather/v1/forecast?city=Oslo");
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode echo = JSON.readTree(res.body());
        assertThat(echo.get("uri").asText()).isEqualTo("/base/v1/forecast?city=Oslo");
        assertThat(echo.at("/headers/host").asText()).isEqualTo("127.0.0.1:" + upstream.port());
        assertThat(res.headers().firstValue("x-upstream")).hasValue("test");
    }

    @Test
    void routesTheNormalizedPathNotTheRawOne() throws Exception {
        HttpResponse<String> res = get("/api/other/../weather/./v1//x%2e%2e/y");
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(res.body()).get("uri").asText()).isEqualTo("/base/v1/x../y");
    }

    @Test
    void prefixMatchesWholeSegmentsOnly() throws Exception {
        HttpResponse<String> res = get("/api/weatherman/x");
        assertThat(res.statusCode()).isEqualTo(404);
        JsonNode body = JSON.readTree(res.body());
        assertThat(body.get("error").asText()).isEqualTo("no_route");
        assertThat(body.get("reason").asText()).contains("/api/weatherman/x");
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void agentCredentialsAndTaskTokenNeverReachTheUpstream() throws Exception {
        // The task token (a real one: the call is allowed on it) is sent by get().
        HttpResponse<String> res = get("/api/root/x",
                "Authorization", "Bearer agent-secret", "x-http2-scheme", "https", "x-custom", "kept");
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode headers = JSON.readTree(res.body()).get("headers");
        assertThat(headers.has("authorization")).isFalse();
        assertThat(headers.has("toolgate-task")).isFalse();
        assertThat(headers.has("x-http2-scheme")).isFalse();
        assertThat(headers.get("x-custom").asText()).isEqualTo("kept");
    }

    @Test
    void headersListedInConnectionAreDroppedButTheSidecarsOwnAreNot() throws Exception {
        // The JDK client refuses to set Connection itself, so the raw variant lives in HostileRequestsTest.
        HttpResponse<String> res = get("/api/root/x");
        JsonNode headers = JSON.readTree(res.body()).get("headers");
        assertThat(headers.get("traceparent").asText()).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
    }

    @Test
    void validTraceparentIsContinuedAndInvalidOneReplaced() throws Exception {
        String tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        JsonNode kept = JSON.readTree(get("/api/root/t", "traceparent", tp).body());
        assertThat(kept.at("/headers/traceparent").asText()).startsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-");
        JsonNode replaced = JSON.readTree(get("/api/root/t", "traceparent", "00-zz-bad").body());
        assertThat(replaced.at("/headers/traceparent").asText())
                .matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01").doesNotContain("zz");
    }

    @Test
    void upstreamDownIs502WithJsonReason() throws Exception {
        HttpResponse<String> res = get("/api/down/x");
        assertThat(res.statusCode()).isEqualTo(502);
        JsonNode body = JSON.readTree(res.body());
        assertThat(body.get("error").asText()).isEqualTo("upstream_connect_failed");
        assertThat(body.get("reason").asText()).contains("127.0.0.1:" + deadPort).contains("refused");
        assertThat(body.get("route").asText()).isEqualTo("down");
        assertThat(res.headers().firstValue("content-type")).hasValue("application/json");
    }

    @Test
    void slowUpstreamIs504() throws Exception {
        HttpResponse<String> res = get("/api/slow/slow");
        assertThat(res.statusCode()).isEqualTo(504);
        JsonNode body = JSON.readTree(res.body());
        assertThat(body.get("error").asText()).isEqualTo("upstream_timeout");
        assertThat(body.get("reason").asText()).contains("300 ms");
    }

    @Test
    void upstreamResetBeforeAnsweringIs502() throws Exception {
        HttpResponse<String> res = get("/api/root/reset");
        assertThat(res.statusCode()).isEqualTo(502);
        assertThat(JSON.readTree(res.body()).get("error").asText()).isEqualTo("upstream_reset");
    }

    @Test
    void upstreamStatusAndKeepAlivePoolingWork() throws Exception {
        int before = upstream.connections.get();
        for (int i = 0; i < 20; i++) {
            assertThat(get("/api/root/status/418").statusCode()).isEqualTo(418);
        }
        // Sequential calls reuse pooled connections (one per event loop at most), not one per call.
        assertThat(upstream.connections.get() - before).isLessThanOrEqualTo(2);
    }

    @Test
    void http2ClientIsServedToo() throws Exception {
        HttpClient h2 = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT))
                .version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> res = h2.send(HttpRequest.newBuilder(
                URI.create("https://127.0.0.1:" + proxy.port() + "/api/weather/h2")).header("toolgate-task", token)
                .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(res.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode echo = JSON.readTree(res.body());
        assertThat(echo.get("uri").asText()).isEqualTo("/base/h2");
        assertThat(echo.get("headers").has("toolgate-task")).as("toolgate-task").isFalse();
    }

    @Test
    void postBodyArrivesIntact() throws Exception {
        byte[] body = new byte[300_000];
        new java.util.Random(7).nextBytes(body);
        HttpResponse<String> res = client.send(HttpRequest.newBuilder(
                URI.create("https://127.0.0.1:" + proxy.port() + "/api/root/upload")).header("toolgate-task", token)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode echo = JSON.readTree(res.body());
        assertThat(echo.get("bodyBytes").asLong()).isEqualTo(body.length);
        assertThat(echo.get("sha256").asText()).isEqualTo(java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(body)));
    }
}
