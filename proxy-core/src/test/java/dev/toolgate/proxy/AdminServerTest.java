package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.testing.Await;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.CredentialConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.credential.CredentialException;
import dev.toolgate.credential.Credentials;
import dev.toolgate.credential.SigningKeys;
import dev.toolgate.credential.TaskClaims;
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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin port: probes, Prometheus metrics that reflect the calls the data plane saw, the JWKS. */
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
        proxy = Sidecar.builder(pki, Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())))).audit(trail).metrics(metrics).build();
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
        return get(admin, path);
    }

    private static HttpResponse<String> get(AdminServer server, String path) throws Exception {
        return plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort() + path))
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
        String body = Await.value("the handshake failure in /metrics", () -> java.util.Optional.of(
                adminGet("/metrics").body()).filter(b -> b.contains("toolgate_tls_handshake_failures_total")));
        assertThat(body).contains("toolgate_tls_handshake_failures_total{reason=\"certificate_rejected\"}");
    }

    @Test
    void withoutSigningKeysThereIsNoJwks() throws Exception {
        assertThat(adminGet("/.well-known/jwks.json").statusCode()).isEqualTo(404);
    }

    @Test
    void theJwksVerifiesTaskJwtsAcrossAKeyRotation() throws Exception {
        SigningKeys keys = SigningKeys.generate();
        RouteConfig crm = new RouteConfig("crm", "/api/crm", null, null,
                new UpstreamConfig(URI.create("http://127.0.0.1:1"), null, null), null, null,
                CredentialConfig.taskJwt(null, "https://crm.example", Duration.ofMinutes(5)));
        Credentials credentials = Credentials.create(List.of(crm), keys, Clock.systemUTC());
        Instant taskExpiry = Instant.now().plus(Duration.ofMinutes(3));
        TaskClaims task = new TaskClaims("t-42", "spiffe://toolgate.dev/agent/reporter", "monthly report", taskExpiry);

        try (AdminServer withKeys = AdminServer.start("127.0.0.1", 0, metrics, ready::get, keys::jwksJson)) {
            String oldJwt = mint(credentials, task);
            HttpResponse<String> res = get(withKeys, "/.well-known/jwks.json");
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.headers().firstValue("content-type")).hasValue("application/json");
            JWKSet published = JWKSet.parse(res.body());
            assertThat(published.getKeys()).hasSize(1).allMatch(k -> !k.isPrivate());
            JWTClaimsSet claims = verify(published, oldJwt);
            assertThat(claims.getSubject()).isEqualTo("spiffe://toolgate.dev/agent/reporter");
            assertThat(claims.getAudience()).containsExactly("https://crm.example");
            assertThat(claims.getStringClaim("task_id")).isEqualTo("t-42");
            assertThat(claims.getStringClaim("purpose")).isEqualTo("monthly report");
            assertThat(claims.getExpirationTime().toInstant()).isBeforeOrEqualTo(taskExpiry)
                    .isEqualTo(taskExpiry.truncatedTo(ChronoUnit.SECONDS));

            keys.rotate();
            TaskClaims next = new TaskClaims("t-43", task.subject(), "next", taskExpiry);
            String newJwt = mint(credentials, next);
            JWKSet afterRotation = JWKSet.parse(get(withKeys, "/.well-known/jwks.json").body());
            assertThat(afterRotation.getKeys()).extracting(JWK::getKeyID).containsExactly(
                    SignedJWT.parse(newJwt).getHeader().getKeyID(), SignedJWT.parse(oldJwt).getHeader().getKeyID());
            assertThat(verify(afterRotation, oldJwt).getStringClaim("task_id")).isEqualTo("t-42");
            assertThat(verify(afterRotation, newJwt).getStringClaim("task_id")).isEqualTo("t-43");
        }
    }

    private static String mint(Credentials credentials, TaskClaims task) throws CredentialException {
        List<String> values = new ArrayList<>();
        credentials.apply("crm", task, (name, value) -> {
            assertThat(name.toString()).isEqualTo("authorization");
            values.add(value.toString());
        });
        assertThat(values).singleElement().asString().startsWith("Bearer ");
        return values.get(0).substring("Bearer ".length());
    }

    /** Checks the JWT's signature with the published key its {@code kid} names and returns its claims. */
    private static JWTClaimsSet verify(JWKSet published, String jwt) throws Exception {
        SignedJWT parsed = SignedJWT.parse(jwt);
        assertThat(parsed.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
        JWK key = published.getKeyByKeyId(parsed.getHeader().getKeyID());
        assertThat(key).as("a published key with kid %s", parsed.getHeader().getKeyID()).isInstanceOf(ECKey.class);
        assertThat(parsed.verify(new ECDSAVerifier((ECKey) key))).as("signature").isTrue();
        return parsed.getJWTClaimsSet();
    }
}
