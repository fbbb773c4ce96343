package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.CredentialConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.credential.SigningKeys;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.ManualClock;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.RawHttp2Client;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import io.netty.handler.codec.http2.Http2Error;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Tasks end to end over real mTLS: an agent starts a task through the sidecar's JSON endpoint, makes granted and
 * ungranted calls, ends the task; tokens bound to identities; budgets under concurrent calls; delegation; the
 * credentials the sidecar injects; and tokens never appearing in logs or audit records.
 */
class TaskFlowTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final SpiffeId HELPER = SpiffeId.parse("spiffe://toolgate.test/agents/helper");
    static final String API_KEY = "k-9f8e7d6c";

    @TempDir
    static Path dir;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail audit;
    static ManualClock clock;
    static SigningKeys keys;
    static ProxyServer proxy;
    static AdminServer admin;
    static HttpClient agent;
    static HttpClient agentH2;
    static HttpClient helper;
    static SSLContext agentTls;
    static TestPki pki;
    static ListAppender<ILoggingEvent> logs;
    static Level oldLevel;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        Path secret = Files.writeString(dir.resolve("weather.key"), API_KEY + "\n");
        SidecarConfig config = Sidecar.config(List.of(
                new RouteConfig("weather", "/api/weather", null, Protocol.HTTP,
                        new UpstreamConfig(URI.create(upstream.url()), null, null), List.of("external"), null,
                        CredentialConfig.staticFromFile("x-api-key", null, secret)),
                new RouteConfig("crm", "/api/crm", null, Protocol.HTTP,
                        new UpstreamConfig(URI.create(upstream.url() + "/crm"), null, null), List.of("pii"), null,
                        CredentialConfig.taskJwt(null, "spiffe://toolgate.test/tools/crm", Duration.ofMinutes(5)))));
        sink = new MemoryAuditSink();
        audit = AuditTrail.start(sink, null, 10_000);
        clock = new ManualClock(Instant.now());
        keys = SigningKeys.generate();
        TaskRegistry tasks = Sidecar.tasks(config, audit, clock);
        proxy = Sidecar.builder(pki, config).audit(audit).tasks(tasks).signingKeys(keys).clock(clock).build();
        admin = AdminServer.start("127.0.0.1", 0, ProxyMetrics.create(), () -> true, keys::jwksJson);
        agentTls = pki.jdkClient(TestPki.AGENT);
        agent = HttpClient.newBuilder().sslContext(agentTls).version(HttpClient.Version.HTTP_1_1).build();
        agentH2 = HttpClient.newBuilder().sslContext(agentTls).version(HttpClient.Version.HTTP_2).build();
        helper = HttpClient.newBuilder().sslContext(pki.jdkClient(HELPER)).version(HttpClient.Version.HTTP_1_1)
                .build();
        // Every log line of the sidecar, down to DEBUG, is captured: no token may appear in any.
        Logger toolgate = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger("dev.toolgate");
        oldLevel = toolgate.getLevel();
        toolgate.setLevel(Level.DEBUG);
        logs = new ListAppender<>();
        logs.start();
        toolgate.addAppender(logs);
    }

    @AfterAll
    static void stop() {
        Logger toolgate = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger("dev.toolgate");
        toolgate.detachAppender(logs);
        toolgate.setLevel(oldLevel);
        admin.close();
        proxy.close();
        audit.close();
        upstream.close();
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
    }

    // ---- helpers -----------------------------------------------------------------------------------------

    static HttpResponse<String> send(HttpClient client, String method, String path, String body, String... headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode startTask(HttpClient client, String json) throws Exception {
        HttpResponse<String> res = send(client, "POST", "/_toolgate/v1/tasks", json);
        assertThat(res.statusCode()).as(res.body()).isEqualTo(201);
        return JSON.readTree(res.body());
    }

    static HttpResponse<String> get(HttpClient client, String path, String token, String... headers) throws Exception {
        List<String> h = new ArrayList<>(List.of(headers));
        if (token != null) {
            h.add("toolgate-task");
            h.add(token);
        }
        return send(client, "GET", path, null, h.toArray(String[]::new));
    }

    static void assertDenied(HttpResponse<String> res, int status, String code) throws Exception {
        assertThat(res.statusCode()).as(res.body()).isEqualTo(status);
        JsonNode body = JSON.readTree(res.body());
        assertThat(body.path("code").asText()).isEqualTo(code);
        assertThat(body.path("decision_id").asText()).hasSize(32);
        if (status == 403) {
            assertThat(body.path("error").asText()).isEqualTo("toolgate_denied");
        }
    }

    static List<JsonNode> auditRecords() throws Exception {
        AuditRecords.awaitWritten(audit);
        List<JsonNode> out = new ArrayList<>();
        for (String line : sink.lines) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    // ---- the flow ------------------------------------------------------------------------------------------

    @Test
    void grantedCallsPassUngrantedAreDeniedAndEndingTheTaskStopsTheNextCall() throws Exception {
        JsonNode task = startTask(agent, """
                {"purpose":"weather for the trip","ttl":"10m",
                 "grants":[{"route":"weather","operations":["GET /v1/forecast/*"]}]}""");
        String token = task.path("token").asText();
        String id = task.path("task_id").asText();
        assertThat(token).startsWith("tg1.");
        assertThat(task.path("agent").asText()).isEqualTo(TestPki.AGENT.uri());
        assertThat(task.path("state").asText()).isEqualTo("active");
        assertThat(task.path("grants").get(0).path("grant_id").asText()).isEqualTo("g1");

        HttpResponse<String> ok = get(agentH2, "/api/weather/v1/forecast/oslo", token);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(upstream.requests).singleElement().satisfies(r -> {
            assertThat(r.uri()).isEqualTo("/v1/forecast/oslo");
            assertThat(r.headers().contains("toolgate-task")).isFalse();
        });

        assertDenied(get(agent, "/api/weather/v1/alerts", token), 403, "DENY_NO_GRANT");
        assertDenied(send(agent, "DELETE", "/api/weather/v1/forecast/oslo", null, "toolgate-task", token), 403,
                "DENY_NO_GRANT");
        assertDenied(get(agent, "/api/crm/customers/1", token), 403, "DENY_NO_GRANT");
        assertDenied(get(agent, "/api/weather/v1/forecast/oslo", null), 403, "DENY_NO_TASK");
        assertThat(upstream.requests).hasSize(1);

        HttpResponse<String> ended = send(agent, "DELETE", "/_toolgate/v1/tasks/" + id, "{\"reason\":\"done\"}");
        assertThat(ended.statusCode()).as(ended.body()).isEqualTo(200);
        assertThat(JSON.readTree(ended.body()).path("state").asText()).isEqualTo("ended");
        assertDenied(get(agent, "/api/weather/v1/forecast/oslo", token), 403, "DENY_TASK_ENDED");
        assertThat(upstream.requests).hasSize(1);

        List<JsonNode> records = auditRecords();
        assertThat(records).filteredOn(r -> r.path("phase").asText().equals("task")
                        && r.path("task_id").asText().equals(id))
                .extracting(r -> r.path("event").asText()).containsExactly("start", "end");
        assertThat(records).filteredOn(r -> r.path("phase").asText().equals("decision")
                        && r.path("task_id").asText().equals(id))
                .extracting(r -> r.path("code").asText())
                .containsExactly("ALLOW", "DENY_NO_GRANT", "DENY_NO_GRANT", "DENY_NO_GRANT", "DENY_TASK_ENDED");
        assertThat(records).filteredOn(r -> r.path("code").asText().equals("ALLOW")
                        && r.path("task_id").asText().equals(id))
                .singleElement().satisfies(r -> {
                    assertThat(r.path("grant_id").asText()).isEqualTo("g1");
                    assertThat(r.path("purpose").asText()).isEqualTo("weather for the trip");
                });
    }

    @Test
    void aTaskStopsWorkingWhenItExpires() throws Exception {
        String token = startTask(agent, """
                {"purpose":"short","ttl":"1m","grants":[{"route":"weather","operations":["GET /**"]}]}""")
                .path("token").asText();
        assertThat(get(agent, "/api/weather/now", token).statusCode()).isEqualTo(200);
        clock.advance(Duration.ofMinutes(1));
        assertDenied(get(agent, "/api/weather/now", token), 403, "DENY_TASK_EXPIRED");
    }

    @Test
    void aTokenReplayedOverAnotherIdentitysConnectionIsRefusedAndAudited() throws Exception {
        String token = startTask(agent, """
                {"purpose":"mine","grants":[{"route":"weather","operations":["GET /**"]}]}""").path("token").asText();
        HttpResponse<String> stolen = get(helper, "/api/weather/x", token);
        assertDenied(stolen, 403, "DENY_IDENTITY_MISMATCH");
        assertThat(upstream.requests).isEmpty();
        String decisionId = JSON.readTree(stolen.body()).path("decision_id").asText();
        assertThat(auditRecords()).filteredOn(r -> r.path("decision_id").asText().equals(decisionId))
                .singleElement().satisfies(r -> {
                    assertThat(r.path("agent").asText()).isEqualTo(HELPER.uri());
                    assertThat(r.path("reason").asText()).contains("probable stolen token");
                });
    }

    @Test
    void concurrentCallsNeverSpendMoreThanTheBudget() throws Exception {
        String token = startTask(agent, """
                {"purpose":"five calls","grants":[{"route":"weather","operations":["GET /**"],"budget":5}]}""")
                .path("token").asText();
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            calls.add(agentH2.sendAsync(HttpRequest.newBuilder(
                            URI.create("https://127.0.0.1:" + proxy.port() + "/api/weather/c/" + i))
                    .header("toolgate-task", token).build(), HttpResponse.BodyHandlers.ofString()));
        }
        int ok = 0;
        int budget = 0;
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            HttpResponse<String> res = c.get();
            if (res.statusCode() == 200) {
                ok++;
            } else {
                assertDenied(res, 403, "DENY_BUDGET");
                budget++;
            }
        }
        assertThat(ok).isEqualTo(5);
        assertThat(budget).isEqualTo(25);
        assertThat(upstream.requests).hasSize(5);
    }

    @Test
    void aDelegatedTaskWorksForTheChildWithinTheParentAndEndsWithIt() throws Exception {
        JsonNode parent = startTask(agent, """
                {"purpose":"research","grants":[{"route":"weather","operations":["GET /**"],"budget":10}]}""");
        String parentToken = parent.path("token").asText();
        HttpResponse<String> tooMuch = send(agent, "POST", "/_toolgate/v1/tasks:delegate", """
                {"agent":"%s","purpose":"help","grants":[{"route":"weather","operations":["GET /**"],"budget":11}]}"""
                .formatted(HELPER.uri()), "toolgate-task", parentToken);
        assertThat(tooMuch.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(tooMuch.body()).path("reason").asText()).contains("budget: 11 exceeds the 10");
        HttpResponse<String> delegated = send(agent, "POST", "/_toolgate/v1/tasks:delegate", """
                {"agent":"%s","purpose":"help","grants":[{"route":"weather","operations":["GET /alerts"],"budget":2}]}"""
                .formatted(HELPER.uri()), "toolgate-task", parentToken);
        assertThat(delegated.statusCode()).as(delegated.body()).isEqualTo(201);
        JsonNode child = JSON.readTree(delegated.body());
        String childToken = child.path("token").asText();
        assertThat(child.path("parent_task_id").asText()).isEqualTo(parent.path("task_id").asText());
        assertThat(child.path("agent").asText()).isEqualTo(HELPER.uri());

        assertThat(get(helper, "/api/weather/alerts", childToken).statusCode()).isEqualTo(200);
        assertDenied(get(helper, "/api/weather/forecast", childToken), 403, "DENY_NO_GRANT");
        assertDenied(get(agent, "/api/weather/alerts", childToken), 403, "DENY_IDENTITY_MISMATCH");

        assertThat(send(agent, "DELETE", "/_toolgate/v1/tasks/" + parent.path("task_id").asText(), null)
                .statusCode()).isEqualTo(200);
        assertDenied(get(helper, "/api/weather/alerts", childToken), 403, "DENY_TASK_ENDED");
        assertThat(auditRecords()).filteredOn(r -> r.path("event").asText().equals("delegate"))
                .anySatisfy(r -> assertThat(r.path("parent_task_id").asText())
                        .isEqualTo(parent.path("task_id").asText()));
    }

    // ---- injected credentials -------------------------------------------------------------------------------

    @Test
    void theUpstreamSeesTheInjectedKeyNeverTheAgents() throws Exception {
        String token = startTask(agent, """
                {"purpose":"keys","grants":[{"route":"weather","operations":["GET /**"]}]}""").path("token").asText();
        assertThat(get(agent, "/api/weather/x", token, "x-api-key", "agent-guess", "authorization", "Bearer agent")
                .statusCode()).isEqualTo(200);
        assertThat(upstream.requests).singleElement().satisfies(r -> {
            assertThat(r.headers().getAll("x-api-key")).containsExactly(API_KEY);
            assertThat(r.headers().contains("authorization")).isFalse();
        });
    }

    @Test
    void theTaskJwtVerifiesAgainstTheJwksAndCarriesTheTask() throws Exception {
        JsonNode task = startTask(agent, """
                {"purpose":"look up a customer","ttl":"2m","grants":[{"route":"crm","operations":["GET /customers/*"]}]}""");
        String token = task.path("token").asText();
        assertThat(get(agent, "/api/crm/customers/7", token, "authorization", "Bearer agent-own").statusCode())
                .isEqualTo(200);
        String auth = upstream.requests.get(0).headers().get("authorization");
        assertThat(auth).startsWith("Bearer ").doesNotContain("agent-own");
        SignedJWT jwt = SignedJWT.parse(auth.substring("Bearer ".length()));

        HttpResponse<String> jwksRes = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + admin.address().getPort() + "/.well-known/jwks.json")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(jwksRes.statusCode()).isEqualTo(200);
        ECKey key = (ECKey) JWKSet.parse(jwksRes.body()).getKeyByKeyId(jwt.getHeader().getKeyID());
        assertThat(jwt.verify(new ECDSAVerifier(key))).isTrue();
        assertThat(jwt.getJWTClaimsSet().getSubject()).isEqualTo(TestPki.AGENT.uri());
        assertThat(jwt.getJWTClaimsSet().getAudience()).containsExactly("spiffe://toolgate.test/tools/crm");
        assertThat(jwt.getJWTClaimsSet().getStringClaim("task_id")).isEqualTo(task.path("task_id").asText());
        assertThat(jwt.getJWTClaimsSet().getStringClaim("purpose")).isEqualTo("look up a customer");
        assertThat(jwt.getJWTClaimsSet().getExpirationTime().toInstant())
                .isBeforeOrEqualTo(Instant.parse(task.path("expires_at").asText()));

        send(agent, "DELETE", "/_toolgate/v1/tasks/" + task.path("task_id").asText(), null);
        assertDenied(get(agent, "/api/crm/customers/7", token), 403, "DENY_TASK_ENDED");
        assertThat(upstream.requests).hasSize(1);
    }

    // ---- bad input on the task endpoints and the header -------------------------------------------------------

    @Test
    void aGrantsWhenConditionDecidesEachCall() throws Exception {
        JsonNode task = startTask(agent, "{\"purpose\":\"only forecasts for Oslo\",\"grants\":[{\"route\":"
                + "\"weather\",\"operations\":[\"GET /v1/**\"],\"when\":\"request.path.endsWith('/oslo')\"}]}");
        assertThat(task.at("/grants/0/when").asText()).isEqualTo("request.path.endsWith('/oslo')");
        assertThat(task.at("/grants/0").has("condition")).isFalse();
        String token = task.path("token").asText();
        assertThat(get(agent, "/api/weather/v1/forecast/oslo", token).statusCode()).isEqualTo(200);
        assertDenied(get(agent, "/api/weather/v1/forecast/bergen", token), 403, "DENY_CONDITION");
    }

    @Test
    void badTaskRequestsGetAClearErrorAndChangeNothing() throws Exception {
        record Case(String method, String path, String body, int status, String reason) {}
        List<Case> cases = List.of(
                new Case("POST", "/_toolgate/v1/tasks", "{\"purpose\":", 400, "not a valid request"),
                new Case("POST", "/_toolgate/v1/tasks", "[]", 400, "not a valid request"),
                new Case("POST", "/_toolgate/v1/tasks", "", 400, "body: empty"),
                new Case("POST", "/_toolgate/v1/tasks", "{\"purpose\":\"p\",\"grants\":[],\"admin\":true}", 400,
                        "not a valid request"),
                new Case("POST", "/_toolgate/v1/tasks", "{\"purpose\":\"p\",\"ttl\":\"forever\",\"grants\":[]}", 400,
                        "ttl:"),
                new Case("POST", "/_toolgate/v1/tasks",
                        "{\"purpose\":\"p\",\"grants\":[{\"route\":\"weather\",\"operations\":[\"GET /a/**/b\"]}]}",
                        400, "** is allowed only as the last segment"),
                new Case("POST", "/_toolgate/v1/tasks",
                        "{\"agent\":\"spiffe://toolgate.test/agents/helper\",\"purpose\":\"p\",\"grants\":"
                                + "[{\"route\":\"weather\",\"operations\":[\"GET /x\"]}]}", 403, "for itself"),
                // The grant condition is "when", as in policy rules; its old name is refused, naming the new one.
                new Case("POST", "/_toolgate/v1/tasks",
                        "{\"purpose\":\"p\",\"grants\":[{\"route\":\"weather\",\"operations\":[\"GET /x\"],"
                                + "\"condition\":\"true\"}]}", 400, "grants[0].condition: renamed (expected: when"),
                new Case("POST", "/_toolgate/v1/tasks",
                        "{\"purpose\":\"p\",\"grants\":[{\"route\":\"weather\",\"operations\":[\"GET /x\"],"
                                + "\"when\":\"1 +\"}]}", 400, "grants[0].when"),
                new Case("PUT", "/_toolgate/v1/tasks", null, 405, "expected: POST, GET"),
                new Case("DELETE", "/_toolgate/v1/tasks/t-000000000000000000000000", null, 404, "no task"),
                new Case("GET", "/_toolgate/v1/nothing", null, 404, "no sidecar endpoint"),
                new Case("GET", "/_toolgate/v1/tasks?state=bogus", null, 400, "state: \"bogus\""));
        int before = proxy.tasks().list(TestPki.AGENT, null, null).size();
        for (Case c : cases) {
            HttpResponse<String> res = send(agent, c.method(), c.path(), c.body());
            assertThat(res.statusCode()).as(c.toString()).isEqualTo(c.status());
            JsonNode body = JSON.readTree(res.body());
            assertThat(body.path("error").asText()).as(c.toString()).isEqualTo("task_request_refused");
            assertThat(body.path("reason").asText()).as(c.toString()).contains(c.reason());
        }
        assertThat(proxy.tasks().list(TestPki.AGENT, null, null)).hasSize(before);
    }

    @Test
    void anHttp2UploadDeniedMidBodyIsAnsweredThenStoppedWithNoError() throws Exception {
        // RFC 9113 8.1: a complete answer, then RST_STREAM(NO_ERROR) to stop the rest of the body without making
        // the client discard the answer (CANCEL would tell it the exchange failed).
        try (RawHttp2Client h2 = RawHttp2Client.connect(pki, TestPki.AGENT, proxy.port())) {
            RawHttp2Client.Stream stream = h2.open()
                    .headers(RawHttp2Client.request("POST", "/api/weather/upload"), false)
                    .data("part of a larger body", false);
            RawHttp2Client.Response res = stream.response();
            assertThat(res.status()).isEqualTo(403);
            assertThat(JSON.readTree(res.body()).path("code").asText()).isEqualTo("DENY_NO_TASK");
            assertThat(stream.awaitReset(Duration.ofSeconds(5))).isEqualTo(Http2Error.NO_ERROR.code());
        }
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void anOversizeTaskRequestIsRefused() throws Exception {
        // The head announces more than a task request may hold: 413 before the body is read.
        try (RawHttpClient raw = new RawHttpClient(agentTls, proxy.port())) {
            RawHttpClient.Response res = raw.exchange("POST /_toolgate/v1/tasks HTTP/1.1\r\nHost: s\r\n"
                    + "content-type: application/json\r\ncontent-length: " + (TaskApi.MAX_BODY_BYTES + 1) + "\r\n\r\n");
            assertThat(res.status()).isEqualTo(413);
        }
    }

    @Test
    void aSecondTaskHeaderIsMalformed() throws Exception {
        String token = startTask(agent, """
                {"purpose":"two","grants":[{"route":"weather","operations":["GET /**"]}]}""").path("token").asText();
        try (RawHttpClient raw = new RawHttpClient(agentTls, proxy.port())) {
            RawHttpClient.Response res = raw.exchange("GET /api/weather/x HTTP/1.1\r\nHost: s\r\ntoolgate-task: "
                    + token + "\r\ntoolgate-task: tg1.other\r\n\r\n");
            assertThat(res.status()).isEqualTo(400);
            assertThat(JSON.readTree(res.body()).path("code").asText()).isEqualTo("DENY_MALFORMED");
        }
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void onlyTheOwnerSeesATask() throws Exception {
        JsonNode task = startTask(agent, """
                {"purpose":"private","grants":[{"route":"weather","operations":["GET /**"]}]}""");
        String path = "/_toolgate/v1/tasks/" + task.path("task_id").asText();
        HttpResponse<String> mine = send(agent, "GET", path, null);
        assertThat(mine.statusCode()).isEqualTo(200);
        assertThat(mine.body()).doesNotContain(task.path("token").asText()).contains("\"state\":\"active\"");
        assertThat(send(helper, "GET", path, null).statusCode()).isEqualTo(404);
        assertThat(send(helper, "DELETE", path, null).statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(send(helper, "GET", "/_toolgate/v1/tasks", null).body()).path("tasks"))
                .allSatisfy(t -> assertThat(t.path("agent").asText()).isEqualTo(HELPER.uri()));
        assertThat(JSON.readTree(send(agent, "GET", "/_toolgate/v1/tasks?state=active", null).body()).path("tasks"))
                .anySatisfy(t -> assertThat(t.path("task_id").asText()).isEqualTo(task.path("task_id").asText()));
    }

    // ---- secrets stay secret ------------------------------------------------------------------------------------

    @Test
    void tokensAndKeysNeverAppearInLogsOrAuditRecords() throws Exception {
        String token = startTask(agent, """
                {"purpose":"leak check","grants":[{"route":"weather","operations":["GET /ok"]},
                 {"route":"crm","operations":["GET /**"]}]}""").path("token").asText();
        get(agent, "/api/weather/ok", token);
        get(agent, "/api/weather/denied", token);
        get(helper, "/api/weather/ok", token);
        get(agent, "/api/crm/c", token);
        try (RawHttpClient raw = new RawHttpClient(agentTls, proxy.port())) {
            raw.exchange("GET /api/weather/%2e%2e HTTP/1.1\r\nHost: s\r\ntoolgate-task: " + token + "\r\n\r\n");
        }
        String jwt = upstream.requests.get(upstream.requests.size() - 1).headers().get("authorization");
        assertThat(jwt).startsWith("Bearer ");
        assertThat(logs.list).isNotEmpty();
        for (ILoggingEvent e : logs.list) {
            String line = e.getFormattedMessage() + (e.getThrowableProxy() == null ? ""
                    : e.getThrowableProxy().getMessage());
            assertThat(line).doesNotContain(token).doesNotContain(API_KEY).doesNotContain(jwt.substring(7));
        }
        for (String line : sink.lines) {
            assertThat(line).doesNotContain(token).doesNotContain(API_KEY).doesNotContain(jwt.substring(7));
        }
    }
}
