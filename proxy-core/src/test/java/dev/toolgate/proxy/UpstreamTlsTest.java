package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.TlsMaterial;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The upstream hop over TLS: mTLS with the sidecar's SVID, and the upstream's SPIFFE ID checked. */
class UpstreamTlsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SpiffeId CRM = SpiffeId.parse("spiffe://toolgate.test/tools/crm");

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static ProxyServer proxy;
    static HttpClient client;
    static String token;

    private static RouteConfig tlsRoute(String name, String prefix, String spiffeId) {
        return new RouteConfig(name, prefix, null, null,
                new UpstreamConfig(URI.create("https://127.0.0.1:" + upstream.port()), null, spiffeId), null, null);
    }

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.startTls(TlsMaterial.of(pki.issue(CRM), pki.ca().bundles()).serverContext());
        proxy = Sidecar.start(pki, Sidecar.config(List.of(
                tlsRoute("crm", "/api/crm", CRM.uri()),
                tlsRoute("impostor", "/api/wrong-id", "spiffe://toolgate.test/tools/billing"),
                tlsRoute("public", "/api/public", null))));
        client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
    }

    @AfterAll
    static void stop() {
        proxy.close();
        upstream.close();
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void forwardsOverMutualTlsToTheExpectedIdentity() throws Exception {
        HttpResponse<String> res = get("/api/crm/customers/42");
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(res.body()).get("uri").asText()).isEqualTo("/customers/42");
        assertThat(upstream.requests).hasSize(1);
    }

    @Test
    void anUpstreamWithAnotherSpiffeIdIsRefused() throws Exception {
        HttpResponse<String> res = get("/api/wrong-id/x");
        assertThat(res.statusCode()).isEqualTo(502);
        JsonNode body = JSON.readTree(res.body());
        assertThat(body.get("error").asText()).isEqualTo("upstream_tls_failed");
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void aPublicRouteDoesNotTrustTheMeshCa() throws Exception {
        HttpResponse<String> res = get("/api/public/x");
        assertThat(res.statusCode()).isEqualTo(502);
        assertThat(JSON.readTree(res.body()).get("error").asText()).isEqualTo("upstream_tls_failed");
        assertThat(upstream.requests).isEmpty();
    }
}
