package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.testing.AuditRecords;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.JwtSvidConfig;
import dev.toolgate.config.ListenerConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.identity.JwtBundles;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestJwts;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * JWT-SVIDs through the real sidecar (real TLS, clients without a certificate): a valid token is served and never
 * forwarded, every refusal is a 401 {@code DENY_NO_IDENTITY} naming the rule, identity is per request, the task
 * token stays bound to the SPIFFE ID however it was proven, and records say {@code jwt} or {@code x509}. The
 * sidecar's diagnostic log runs at DEBUG for the whole class and is checked for tokens at the end.
 */
class JwtSvidTest {
    private static final String AUD = "spiffe://toolgate.test/toolgate/sidecar";
    private static final SpiffeId OTHER = SpiffeId.parse("spiffe://toolgate.test/agents/other");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail trail;
    static ProxyServer proxy;
    static ProxyServer jwtOff;
    static TestJwts.Key key;
    static String taskToken;
    static SSLContext noCert;
    static final List<String> sentTokens = new CopyOnWriteArrayList<>();
    static final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    static Level oldLevel;

    @BeforeAll
    static void start() throws Exception {
        Logger toolgate = (Logger) LoggerFactory.getLogger("dev.toolgate");
        oldLevel = toolgate.getLevel();
        toolgate.setLevel(Level.DEBUG);
        logs.start();
        toolgate.addAppender(logs);
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        sink = new MemoryAuditSink();
        trail = AuditTrail.start(sink, null, 10_000);
        key = TestJwts.ec256("test-key-1");
        // The trust domain's JWT bundle: the dev CA's key and a key crafted here.
        Map<String, PublicKey> own = new HashMap<>(pki.ca().jwtBundles().keys(TestPki.TRUST_DOMAIN));
        own.putAll(key.bundle());
        SidecarConfig config = Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())));
        proxy = Sidecar.builder(pki, config.withListener(new ListenerConfig("127.0.0.1", 0)
                .withJwtSvid(new JwtSvidConfig(true, AUD, Duration.ofSeconds(5))))).jwtBundles(JwtBundles.of(Map.of(TestPki.TRUST_DOMAIN, own))).audit(trail).build();
        jwtOff = Sidecar.builder(pki, config).jwtBundles(JwtBundles.of(Map.of(TestPki.TRUST_DOMAIN, own))).audit(trail).build();
        taskToken = Sidecar.taskForEverything(proxy, TestPki.AGENT);
        noCert = pki.jdkClientWithoutCertificate();
    }

    @AfterAll
    static void stop() {
        proxy.close();
        jwtOff.close();
        trail.close();
        upstream.close();
        Logger toolgate = (Logger) LoggerFactory.getLogger("dev.toolgate");
        toolgate.detachAppender(logs);
        toolgate.setLevel(oldLevel);
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
    }

    private static String jwt(SpiffeId sub) {
        String t = pki.ca().mintJwtSvid(sub, AUD, Duration.ofMinutes(5));
        sentTokens.add(t);
        return t;
    }

    private static String crafted(JWTClaimsSet claims) throws Exception {
        String t = TestJwts.sign(key, claims);
        sentTokens.add(t);
        return t;
    }

    private static String get(String path, String bearer, String task) {
        return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + (bearer == null ? "" : "Authorization: Bearer " + bearer + "\r\n")
                + (task == null ? "" : "toolgate-task: " + task + "\r\n") + "\r\n";
    }

    private static RawHttpClient.Response call(SSLContext tls, String request) throws IOException {
        try (RawHttpClient c = new RawHttpClient(tls, proxy.port())) {
            return c.exchange(request);
        }
    }

    /** The records of one decision id, waiting (bounded) until {@code expected} of them were written. */
    private static List<JsonNode> records(String decisionId, int expected) throws Exception {
        return AuditRecords.of(trail, sink).awaitAll("decision " + decisionId, expected,
                AuditRecords.field("decision_id", decisionId));
    }

    /** The decision id of the newest decision record for {@code operation}. */
    private static String lastDecisionIdFor(String operation) throws Exception {
        return AuditRecords.of(trail, sink).awaitLast("decision on " + operation,
                        n -> n.path("phase").asText().equals("decision")
                                && n.path("operation").asText().equals(operation))
                .get("decision_id").asText();
    }

    @Test
    void aValidJwtSvidIsServedWithoutAClientCertificateAndNeverForwarded() throws Exception {
        RawHttpClient.Response r = call(noCert, get("/api/weather/v1/jwt-valid", jwt(TestPki.AGENT), taskToken));

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(upstream.requests).hasSize(1);
        assertThat(upstream.requests.get(0).headers().contains("authorization")).isFalse();
        assertThat(upstream.requests.get(0).headers().contains("toolgate-task")).isFalse();
        List<JsonNode> recs = records(lastDecisionIdFor("GET /api/weather/v1/jwt-valid"), 2);
        assertThat(recs).extracting(n -> n.path("phase").asText()).containsExactly("decision", "outcome");
        for (JsonNode rec : recs) {
            assertThat(rec.path("agent").asText()).isEqualTo(TestPki.AGENT.uri());
            assertThat(rec.path("identity").asText()).isEqualTo("jwt");
        }
        assertThat(recs.get(0).path("code").asText()).isEqualTo("ALLOW");
    }

    @Test
    void aCraftedTokenOfTheBundlePassesToo() throws Exception {
        String token = crafted(TestJwts.claims(TestPki.AGENT.uri(), AUD, Instant.now().plusSeconds(60)).build());
        assertThat(call(noCert, get("/api/weather/v1/crafted", token, taskToken)).status()).isEqualTo(200);
    }

    @Test
    void curlWithABearerTokenAndNoCertificateOverHttp2() throws Exception {
        Path bundle = pki.files(TestPki.AGENT).resolve("bundle.pem");
        List<String> cmd = List.of("curl", "-sS", "--max-time", "10", "--cacert", bundle.toString(),
                "-H", "Authorization: Bearer " + jwt(TestPki.AGENT), "-H", "toolgate-task: " + taskToken,
                "-w", "\n%{http_code} %{http_version}", "https://127.0.0.1:" + proxy.port() + "/api/weather/v1/curl");
        Process p = new ProcessBuilder(cmd).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();

        assertThat(p.exitValue()).as(err).isZero();
        assertThat(out).endsWith("\n200 2");
        assertThat(upstream.requests).hasSize(1);
        assertThat(upstream.requests.get(0).headers().contains("authorization")).isFalse();
        JsonNode rec = records(lastDecisionIdFor("GET /api/weather/v1/curl"), 1).get(0);
        assertThat(rec.path("identity").asText()).isEqualTo("jwt");
    }

    @Test
    void everyInvalidTokenIsRefused401WithTheRuleThatFailed() throws Exception {
        Instant exp = Instant.now().plusSeconds(120);
        String agent = TestPki.AGENT.uri();
        TestJwts.Key stranger = TestJwts.ec256("stranger");
        TestJwts.Key sameKidOtherKey = TestJwts.ec256(key.kid());
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(TestJwts.none(key.kid(), TestJwts.claims(agent, AUD, exp).build()), "alg \"none\" not allowed");
        cases.put(TestJwts.hs256WithPublicKey(key, TestJwts.claims(agent, AUD, exp).build()),
                "alg \"HS256\" not allowed");
        cases.put(TestJwts.sign(key, TestJwts.claims(agent, "spiffe://toolgate.test/not-us", exp).build()),
                "does not contain \"" + AUD + "\"");
        cases.put(TestJwts.sign(key, TestJwts.claims(agent, AUD, Instant.now().minusSeconds(30)).build()),
                "expired at");
        cases.put(TestJwts.sign(key, TestJwts.claims(agent, AUD, exp)
                .notBeforeTime(java.util.Date.from(Instant.now().plusSeconds(60))).build()), "not valid before");
        cases.put(TestJwts.sign(stranger, TestJwts.claims("spiffe://elsewhere.test/agents/a", AUD, exp).build()),
                "no JWT bundle for trust domain \"elsewhere.test\"");
        cases.put(TestJwts.sign(stranger, TestJwts.claims(agent, AUD, exp).build()),
                "kid \"stranger\" is not in the JWT bundle");
        cases.put(TestJwts.sign(sameKidOtherKey, TestJwts.claims(agent, AUD, exp).build()),
                "signature does not verify");
        cases.put(TestJwts.withPayload(TestJwts.sign(key, TestJwts.claims(agent, AUD, exp).build()),
                TestJwts.claims(OTHER.uri(), AUD, exp).build()), "signature does not verify");
        cases.put(TestJwts.sign(key, TestJwts.claims(agent, AUD, null).build()), "no exp claim");
        cases.put(TestJwts.sign(key, TestJwts.claims("researcher", AUD, exp).build()), "sub is not a SPIFFE ID");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            sentTokens.add(c.getKey());
            RawHttpClient.Response r = call(noCert, get("/api/weather/v1/refused", c.getKey(), taskToken));

            assertThat(r.status()).as(c.getValue()).isEqualTo(401);
            assertThat(r.headers().get("www-authenticate")).isEqualTo("Bearer realm=\"toolgate\", error=\"invalid_token\"");
            JsonNode body = JSON.readTree(r.body());
            assertThat(body.path("error").asText()).isEqualTo("toolgate_denied");
            assertThat(body.path("code").asText()).isEqualTo("DENY_NO_IDENTITY");
            assertThat(body.path("reason").asText()).as(c.getValue()).contains(c.getValue()).doesNotContain(c.getKey());
            JsonNode rec = records(body.path("decision_id").asText(), 1).get(0);
            assertThat(rec.path("decision").asText()).isEqualTo("deny");
            assertThat(rec.path("code").asText()).isEqualTo("DENY_NO_IDENTITY");
            assertThat(rec.path("reason").asText()).startsWith("JWT-SVID refused: ").contains(c.getValue());
            assertThat(rec.has("agent")).isFalse();
            assertThat(rec.has("identity")).isFalse();
        }
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void aPresentedCertificateIsStillVerifiedWhenCertificatesAreOptional() throws Exception {
        // An impostor CA of the same trust domain: its SVID must fail the handshake even though a valid JWT-SVID
        // rides along (curl sends the certificate whatever CAs the server names).
        Path impostor = dev.toolgate.identity.DevCa.openOrCreate(dir.resolve("impostor-ca"), TestPki.TRUST_DOMAIN)
                .issueTo(TestPki.AGENT, dir.resolve("impostor"));
        Path bundle = pki.files(TestPki.AGENT).resolve("bundle.pem");
        List<String> cmd = List.of("curl", "-sS", "--max-time", "10", "--cacert", bundle.toString(),
                "--cert", impostor.resolve("svid.pem").toString(), "--key", impostor.resolve("svid.key").toString(),
                "-H", "Authorization: Bearer " + jwt(TestPki.AGENT), "-H", "toolgate-task: " + taskToken,
                "https://127.0.0.1:" + proxy.port() + "/api/weather/v1/impostor");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();

        assertThat(p.exitValue()).as(out).isNotZero();
        assertThat(out).doesNotContain("toolgate_denied");
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void noTokenAtAllOrAnotherSchemeIsRefused401() throws Exception {
        RawHttpClient.Response none = call(noCert, get("/api/weather/v1/none", null, taskToken));
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.headers().get("www-authenticate")).isEqualTo("Bearer realm=\"toolgate\"");
        assertThat(JSON.readTree(none.body()).path("reason").asText()).contains("no client certificate and no JWT-SVID");

        RawHttpClient.Response basic = call(noCert, "GET /api/weather/v1/basic HTTP/1.1\r\nHost: a\r\n"
                + "Authorization: Basic YTpi\r\ntoolgate-task: " + taskToken + "\r\n\r\n");
        assertThat(basic.status()).isEqualTo(401);
        assertThat(JSON.readTree(basic.body()).path("reason").asText()).contains("not a Bearer token");

        String t = jwt(TestPki.AGENT);
        RawHttpClient.Response two = call(noCert, "GET /api/weather/v1/two HTTP/1.1\r\nHost: a\r\n"
                + "Authorization: Bearer " + t + "\r\nAuthorization: Bearer " + t + "\r\n\r\n");
        assertThat(two.status()).isEqualTo(401);
        assertThat(JSON.readTree(two.body()).path("reason").asText()).contains("2 Authorization headers");
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void identityIsPerRequestNotPerConnection() throws Exception {
        try (RawHttpClient c = new RawHttpClient(noCert, proxy.port())) {
            assertThat(c.exchange(get("/api/weather/v1/a", jwt(TestPki.AGENT), taskToken)).status()).isEqualTo(200);
            // The same connection, no token: the previous request's token identifies nobody now.
            RawHttpClient.Response second = c.exchange(get("/api/weather/v1/b", null, taskToken));
            assertThat(second.status()).isEqualTo(401);
            assertThat(JSON.readTree(second.body()).path("code").asText()).isEqualTo("DENY_NO_IDENTITY");
            assertThat(c.exchange(get("/api/weather/v1/c", jwt(TestPki.AGENT), taskToken)).status()).isEqualTo(200);
        }
        assertThat(upstream.requests).extracting(TestUpstream.Seen::uri).containsExactly("/v1/a", "/v1/c");
    }

    @Test
    void aListenerWithJwtOffRefusesAClientWithoutCertificateWhateverItSends() {
        assertThatThrownBy(() -> {
            try (RawHttpClient c = new RawHttpClient(noCert, jwtOff.port())) {
                c.exchange(get("/api/weather/v1/off", jwt(TestPki.AGENT), taskToken));
            }
        }).isInstanceOf(IOException.class);
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void certificateCallersAreRecordedAsX509AndBothProofsMustAgree() throws Exception {
        SSLContext agentCert = pki.jdkClient(TestPki.AGENT);
        assertThat(call(agentCert, get("/api/weather/v1/x509", null, taskToken)).status()).isEqualTo(200);
        JsonNode rec = records(lastDecisionIdFor("GET /api/weather/v1/x509"), 1).get(0);
        assertThat(rec.path("identity").asText()).isEqualTo("x509");
        assertThat(rec.path("agent").asText()).isEqualTo(TestPki.AGENT.uri());

        // Both, naming the same workload: served as the certificate's identity.
        assertThat(call(agentCert, get("/api/weather/v1/both", jwt(TestPki.AGENT), taskToken)).status())
                .isEqualTo(200);
        assertThat(records(lastDecisionIdFor("GET /api/weather/v1/both"), 1).get(0).path("identity").asText())
                .isEqualTo("x509");
        assertThat(upstream.requests).allSatisfy(s -> assertThat(s.headers().contains("authorization")).isFalse());
        // Both, disagreeing: refused.
        RawHttpClient.Response mismatch = call(agentCert, get("/api/weather/v1/mismatch", jwt(OTHER), taskToken));
        assertThat(mismatch.status()).isEqualTo(403);
        assertThat(JSON.readTree(mismatch.body()).path("code").asText()).isEqualTo("DENY_IDENTITY_MISMATCH");
        // A certificate with an invalid token: refused, not silently served.
        String expired = crafted(TestJwts.claims(TestPki.AGENT.uri(), AUD, Instant.now().minusSeconds(60)).build());
        RawHttpClient.Response bad = call(agentCert, get("/api/weather/v1/bad", expired, taskToken));
        assertThat(bad.status()).isEqualTo(401);
        assertThat(upstream.requests).hasSize(2);
    }

    @Test
    void theTaskTokenIsBoundToTheSpiffeIdWhicheverWayItWasProven() throws Exception {
        String body = "{\"purpose\":\"jwt task\",\"grants\":[{\"route\":\"weather\",\"operations\":[\"GET /**\"]}]}";
        RawHttpClient.Response started = call(noCert, "POST /_toolgate/v1/tasks HTTP/1.1\r\nHost: a\r\n"
                + "Authorization: Bearer " + jwt(TestPki.AGENT) + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body);
        assertThat(started.status()).as(started.body()).isEqualTo(201);
        String token = JSON.readTree(started.body()).path("token").asText();
        sentTokens.add(token);

        assertThat(call(noCert, get("/api/weather/v1/t1", jwt(TestPki.AGENT), token)).status()).isEqualTo(200);
        // The same SPIFFE ID proven by its certificate may use it too.
        assertThat(call(pki.jdkClient(TestPki.AGENT), get("/api/weather/v1/t2", null, token)).status())
                .isEqualTo(200);
        // Another workload may not, by JWT or by certificate.
        RawHttpClient.Response byJwt = call(noCert, get("/api/weather/v1/t3", jwt(OTHER), token));
        assertThat(byJwt.status()).isEqualTo(403);
        assertThat(JSON.readTree(byJwt.body()).path("code").asText()).isEqualTo("DENY_IDENTITY_MISMATCH");
        RawHttpClient.Response byCert = call(pki.jdkClient(OTHER), get("/api/weather/v1/t4", null, token));
        assertThat(byCert.status()).isEqualTo(403);
        assertThat(JSON.readTree(byCert.body()).path("code").asText()).isEqualTo("DENY_IDENTITY_MISMATCH");
        assertThat(upstream.requests).extracting(TestUpstream.Seen::uri).containsExactly("/v1/t1", "/v1/t2");
    }

    @Test
    void noTokenEverAppearsInTheAuditTrailOrTheLog() throws Exception {
        // Some traffic of its own, so the check holds whatever order the tests ran in.
        call(noCert, get("/api/weather/v1/leak-ok", jwt(TestPki.AGENT), taskToken));
        String bad = crafted(TestJwts.claims(TestPki.AGENT.uri(), "wrong", Instant.now().plusSeconds(60)).build());
        call(noCert, get("/api/weather/v1/leak-bad", bad, taskToken));
        records(lastDecisionIdFor("GET /api/weather/v1/leak-bad"), 1);

        assertThat(sentTokens).hasSizeGreaterThan(2);
        List<String> logged = new ArrayList<>();
        for (ILoggingEvent e : logs.list) {
            logged.add(e.getFormattedMessage());
        }
        assertThat(logged).isNotEmpty();
        for (String token : sentTokens) {
            String signature = token.substring(token.lastIndexOf('.') + 1);
            String body = token.split("\\.")[1];
            for (String line : sink.lines) {
                assertThat(line).doesNotContain(body);
                if (!signature.isEmpty()) {
                    assertThat(line).doesNotContain(signature);
                }
            }
            for (String line : logged) {
                assertThat(line).doesNotContain(body);
            }
        }
        assertThat(String.join("\n", sink.lines)).doesNotContain(taskToken);
    }

}
