package dev.toolgate.control;

import static dev.toolgate.control.ControlFixture.AGENT;
import static dev.toolgate.control.ControlFixture.ENVOY;
import static dev.toolgate.control.ControlFixture.OTHER;
import static dev.toolgate.control.ControlFixture.OUTSIDER;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.toolgate.api.v1.RequestedGrant;
import dev.toolgate.api.v1.StartTaskRequest;
import dev.toolgate.identity.SpiffeId;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.audit.AuditSink;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.config.ControlConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.Svid;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Envoy's ext_authz check on the control port, called the way Envoy calls it: over mTLS as the Envoy proxy's SVID
 * ({@code access.extAuthz}), with the agent's SPIFFE ID in {@code attributes.source.principal} (Envoy
 * terminated the agent's mTLS), lower-cased headers (repeated ones comma-joined, or in {@code header_map}) and
 * the body when {@code with_request_body} is set.
 */
class ExtAuthzTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static ControlFixture f;
    static String weatherToken;
    static String mcpToken;

    @BeforeAll
    static void start() throws Exception {
        f = ControlFixture.start(dir);
        weatherToken = f.start(AGENT, "ext_authz weather", "GET /forecast/*").getToken();
        mcpToken = f.tasks(AGENT).startTask(StartTaskRequest.newBuilder().setPurpose("ext_authz mcp")
                .addGrants(RequestedGrant.newBuilder().setRoute("tools-mcp").addOperations("mcp:tools/call:search"))
                .build()).getToken();
    }

    @AfterAll
    static void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void grantedCallIsOkAndTheTokenIsStripped() throws Exception {
        CheckResponse res = check(get(AGENT, "/api/weather/forecast/oslo", Map.of("toolgate-task", weatherToken)));

        assertThat(res.getStatus().getCode()).isEqualTo(0);
        assertThat(res.hasOkResponse()).isTrue();
        assertThat(res.getOkResponse().getHeadersToRemoveList())
                .contains("toolgate-task", "x-toolgate-spiffe-id", "x-toolgate-task-id")
                .doesNotContain("authorization"); // weather has no upstream credential
        String id = header(res.getOkResponse().getHeadersList(), "x-toolgate-decision-id");
        assertThat(id).matches("[0-9a-f]{32}");
        JsonNode rec = decisionRecord(id);
        assertThat(rec.path("decision").asText()).isEqualTo("allow");
        assertThat(rec.path("code").asText()).isEqualTo("ALLOW");
        assertThat(rec.path("agent").asText()).isEqualTo(AGENT.uri());
        assertThat(rec.path("route").asText()).isEqualTo("weather");
        assertThat(rec.path("protocol").asText()).isEqualTo("http");
        assertThat(rec.path("operation").asText()).isEqualTo("GET /api/weather/forecast/oslo");
        assertThat(rec.path("task_id").asText()).isNotEmpty();
        assertThat(rec.path("grant_id").asText()).isNotEmpty();
        assertThat(rec.path("mode").asText()).isEqualTo("enforce");
        assertThat(rec.has("decision_us")).isTrue();
    }

    @Test
    void noTokenIsDenied403WithTheDataPlanesJson() throws Exception {
        CheckResponse res = check(get(AGENT, "/api/weather/forecast/oslo", Map.of()));

        JsonNode body = denied(res, 403, "DENY_NO_TASK");
        assertThat(body.path("error").asText()).isEqualTo("toolgate_denied");
        assertThat(body.path("route").asText()).isEqualTo("weather");
        assertThat(header(res.getDeniedResponse().getHeadersList(), "content-type")).isEqualTo("application/json");
        String id = body.path("decision_id").asText();
        assertThat(header(res.getDeniedResponse().getHeadersList(), "x-toolgate-decision-id")).isEqualTo(id);
        JsonNode rec = decisionRecord(id);
        assertThat(rec.path("decision").asText()).isEqualTo("deny");
        assertThat(rec.path("code").asText()).isEqualTo("DENY_NO_TASK");
    }

    @Test
    void anotherAgentsTokenIsAnIdentityMismatch() throws Exception {
        CheckResponse res = check(get(OTHER, "/api/weather/forecast/oslo", Map.of("toolgate-task", weatherToken)));

        JsonNode body = denied(res, 403, "DENY_IDENTITY_MISMATCH");
        assertThat(decisionRecord(body.path("decision_id").asText()).path("agent").asText()).isEqualTo(OTHER.uri());
    }

    @Test
    void aMissingOrForeignPrincipalHasNoIdentity() throws Exception {
        CheckRequest noPrincipal = request("", "GET", "/api/weather/forecast/oslo",
                Map.of("toolgate-task", weatherToken), null);
        // 401 as on the data plane (the same answer from Admission), not a bare 403.
        denied(check(noPrincipal), 401, "DENY_NO_IDENTITY");
        CheckRequest notSpiffe = request("CN=agent,O=example", "GET", "/api/weather/forecast/oslo",
                Map.of("toolgate-task", weatherToken), null);
        denied(check(notSpiffe), 401, "DENY_NO_IDENTITY");
    }

    @Test
    void repeatedTaskHeadersAreMalformedInBothForms() throws Exception {
        // headers: Envoy joins repeated headers with commas
        CheckResponse joined = check(get(AGENT, "/api/weather/forecast/oslo",
                Map.of("toolgate-task", weatherToken + "," + weatherToken)));
        denied(joined, 400, "DENY_MALFORMED");

        // header_map: one entry per header line
        CheckRequest twoLines = request(AGENT.uri(), "GET", "/api/weather/forecast/oslo", Map.of(), null).toBuilder()
                .setAttributes(attributes(AGENT.uri(), http("GET", "/api/weather/forecast/oslo", Map.of(), null)
                        .setHeaderMap(HeaderMap.newBuilder()
                                .addHeaders(raw("toolgate-task", weatherToken))
                                .addHeaders(raw("toolgate-task", weatherToken)))))
                .build();
        denied(check(twoLines), 400, "DENY_MALFORMED");

        // header_map with one token line and other repeated headers: allowed
        CheckRequest oneLine = CheckRequest.newBuilder()
                .setAttributes(attributes(AGENT.uri(), http("GET", "/api/weather/forecast/oslo", Map.of(), null)
                        .setHeaderMap(HeaderMap.newBuilder()
                                .addHeaders(raw("accept", "text/plain"))
                                .addHeaders(raw("accept", "application/json"))
                                .addHeaders(raw("toolgate-task", weatherToken)))))
                .build();
        assertThat(check(oneLine).hasOkResponse()).isTrue();

        // headers with other comma-joined headers: allowed
        CheckResponse otherJoined = check(get(AGENT, "/api/weather/forecast/oslo",
                Map.of("toolgate-task", weatherToken, "accept", "text/plain, application/json")));
        assertThat(otherJoined.hasOkResponse()).isTrue();
    }

    @Test
    void mcpBodyIsJudgedPerMessage() throws Exception {
        Map<String, String> h = Map.of("toolgate-task", mcpToken, "content-type", "application/json");
        CheckResponse granted = check(request(AGENT.uri(), "POST", "/mcp/tools", h, toolCall(1, "search")));
        assertThat(granted.hasOkResponse()).as(granted.toString()).isTrue();
        JsonNode ok = decisionRecord(header(granted.getOkResponse().getHeadersList(), "x-toolgate-decision-id"));
        assertThat(ok.path("protocol").asText()).isEqualTo("mcp");
        assertThat(ok.path("operation").asText()).isEqualTo("mcp:tools/call:search");
        // The arguments are recorded as the data plane records them: their digest (here of {}).
        assertThat(ok.path("args_digest").asText()).isEqualTo(ArgumentCapture.digest(new ObjectMapper().readTree("{}")));

        CheckResponse ungranted = check(request(AGENT.uri(), "POST", "/mcp/tools", h, toolCall(2, "delete_repo")));
        JsonNode body = denied(ungranted, 403, "DENY_NO_GRANT");
        assertThat(decisionRecord(body.path("decision_id").asText()).path("operation").asText())
                .isEqualTo("mcp:tools/call:delete_repo");

        // a batch with one ungranted message is denied whole; the body may come as raw_body too
        String batch = "[" + toolCall(3, "search") + "," + toolCall(4, "delete_repo") + "]";
        CheckRequest rawBatch = CheckRequest.newBuilder().setAttributes(attributes(AGENT.uri(),
                http("POST", "/mcp/tools", h, null).setRawBody(ByteString.copyFromUtf8(batch)))).build();
        denied(check(rawBatch), 403, "DENY_NO_GRANT");
    }

    @Test
    void mcpPostWithoutABodyIsMalformed() throws Exception {
        CheckResponse res = check(request(AGENT.uri(), "POST", "/mcp/tools",
                Map.of("toolgate-task", mcpToken, "content-type", "application/json"), null));
        JsonNode body = denied(res, 400, "DENY_MALFORMED");
        assertThat(body.path("reason").asText()).contains("ext_authz must send the request body for MCP routes");
    }

    @Test
    void hostilePathIsMalformed() throws Exception {
        for (String path : List.of("/api/x/%2e%2e%2Fadmin", "/api/weather/forecast%2F..%2Fadmin",
                "/api/weather/%2e%2e%2fadmin", "/api/weather/a;%2F/b")) {
            JsonNode body = denied(check(get(AGENT, path, Map.of("toolgate-task", weatherToken))), 400,
                    "DENY_MALFORMED");
            assertThat(body.path("error").asText()).isEqualTo("bad_request");
            assertThat(body.path("reason").asText()).contains("encoded slash");
        }
    }

    @Test
    void encodedDotSegmentsAreResolvedBeforeTheRouteIsMatched() throws Exception {
        // /api/weather/%2e%2e/admin is /api/admin: outside every route, whatever prefix it started with
        JsonNode body = denied(check(get(AGENT, "/api/weather/%2e%2e/admin", Map.of("toolgate-task", weatherToken))),
                404, "DENY_POLICY");
        assertThat(body.path("reason").asText()).isEqualTo("no route for /api/admin");
        assertThat(decisionRecord(body.path("decision_id").asText()).path("operation").asText())
                .isEqualTo("GET /api/admin");
    }

    @Test
    void noRouteIsDeniedByPolicy() throws Exception {
        // 404 no_route, as the data plane answers an unknown path.
        JsonNode body = denied(check(get(AGENT, "/nowhere", Map.of("toolgate-task", weatherToken))), 404,
                "DENY_POLICY");
        assertThat(body.path("error").asText()).isEqualTo("no_route");
    }

    @Test
    void aCallerOutsideExtAuthzClientsIsRefused() {
        for (SpiffeId caller : List.of(AGENT, OUTSIDER)) {
            ControlFixture.refused(Status.Code.PERMISSION_DENIED, () -> AuthorizationGrpc
                    .newBlockingStub(f.channel(caller)).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(get(AGENT, "/api/weather/forecast/oslo", Map.of("toolgate-task", weatherToken))));
        }
    }

    @Test
    void theDataPlaneAndCheckDecideAlike() throws Exception {
        String otherToken = f.start(OTHER, "data plane vs ext_authz", "GET /forecast/*").getToken();
        record Case(SpiffeId agent, String path, String token) {}
        for (Case c : List.of(new Case(AGENT, "/api/weather/forecast/bergen", weatherToken),
                new Case(AGENT, "/api/weather/alerts", weatherToken),
                new Case(AGENT, "/api/weather/forecast/bergen", otherToken),
                new Case(AGENT, "/api/weather/forecast%2Fbergen", weatherToken),
                new Case(AGENT, "/api/weather/forecast/bergen", null))) {
            HttpResponse<String> viaDataPlane = dataPlane(c.agent(), c.path(), c.token());
            String planeCode = viaDataPlane.statusCode() == 200 ? "ALLOW"
                    : JSON.readTree(viaDataPlane.body()).path("code").asText();
            CheckResponse viaCheck = check(get(c.agent(), c.path(),
                    c.token() == null ? Map.of() : Map.of("toolgate-task", c.token())));
            String checkCode = viaCheck.hasOkResponse() ? "ALLOW"
                    : JSON.readTree(viaCheck.getDeniedResponse().getBody()).path("code").asText();
            assertThat(checkCode).as("%s", c).isEqualTo(planeCode);
        }
    }

    @Test
    void aCheckTheAuditTrailCannotTakeIsDeniedFailClosed(@TempDir Path own) throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AuditSink stuck = new AuditSink() {
            @Override
            public void write(String line) throws IOException {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        TestPki pki = TestPki.create(own);
        SidecarConfig config = Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", "http://127.0.0.1:9")))
                .withAudit(new AuditConfig(own.resolve("audit.jsonl"), 100_000, Duration.ofMillis(50), null, false))
                .withControl(new ControlConfig("127.0.0.1", 0, null))
                .withAccess(AccessConfig.defaults().withExtAuthz(List.of(ENVOY.uri())));
        AuditTrail audit = AuditTrail.start(stuck, null, 1);
        TaskRegistry tasks = Sidecar.tasks(config, audit, Clock.systemUTC());
        ProxyServer dataPlane = Sidecar.builder(pki, config).audit(audit).tasks(tasks).build();
        ControlServer control = ControlServer.start(dataPlane);
        Svid svid = pki.issue(ENVOY);
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", control.port())
                .sslContext(GrpcSslContexts.forClient()
                        .keyManager(svid.key(), svid.chain().toArray(new X509Certificate[0]))
                        .trustManager(pki.ca().certificate()).build())
                .build();
        try {
            AuthorizationGrpc.AuthorizationBlockingStub envoy = AuthorizationGrpc.newBlockingStub(ch);
            CheckResponse last = null;
            for (int i = 0; i < 5; i++) { // the writer holds one record and the queue one more; then offers fail
                last = envoy.withDeadlineAfter(10, TimeUnit.SECONDS)
                        .check(get(AGENT, "/api/weather/forecast/oslo", Map.of()));
            }
            assertThat(last.getStatus().getCode()).isEqualTo(7);
            assertThat(last.getDeniedResponse().getStatus().getCodeValue()).isEqualTo(503);
            JsonNode body = JSON.readTree(last.getDeniedResponse().getBody());
            assertThat(body.path("error").asText()).isEqualTo("audit_unavailable");
            assertThat(body.path("code").asText()).isEqualTo("ERROR_FAIL_CLOSED");
        } finally {
            release.countDown();
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            control.close();
            dataPlane.close();
            tasks.close();
            audit.close();
        }
    }

    // ---- Envoy-shaped requests ---------------------------------------------------------------------------

    private static CheckResponse check(CheckRequest req) {
        return AuthorizationGrpc.newBlockingStub(f.channel(ENVOY)).withDeadlineAfter(10, TimeUnit.SECONDS).check(req);
    }

    private static CheckRequest get(SpiffeId agent, String path, Map<String, String> headers) {
        return request(agent.uri(), "GET", path, headers, null);
    }

    private static CheckRequest request(String principal, String method, String path, Map<String, String> headers,
                                        String body) {
        return CheckRequest.newBuilder().setAttributes(attributes(principal, http(method, path, headers, body)))
                .build();
    }

    /** As Envoy fills it: the source is the agent's mTLS peer, the destination the sidecar's listener. */
    private static AttributeContext.Builder attributes(String principal, AttributeContext.HttpRequest.Builder http) {
        return AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setPrincipal(principal))
                .setDestination(AttributeContext.Peer.newBuilder().setPrincipal("spiffe://toolgate.test/mesh/envoy"))
                .setRequest(AttributeContext.Request.newBuilder().setHttp(http));
    }

    private static AttributeContext.HttpRequest.Builder http(String method, String path, Map<String, String> headers,
                                                             String body) {
        AttributeContext.HttpRequest.Builder b = AttributeContext.HttpRequest.newBuilder()
                .setId("1234").setMethod(method).setPath(path).setHost("tools.internal").setScheme("https")
                .setProtocol("HTTP/1.1")
                .putHeaders(":authority", "tools.internal").putHeaders(":method", method).putHeaders(":path", path);
        headers.forEach((k, v) -> b.putHeaders(k.toLowerCase(java.util.Locale.ROOT), v));
        if (body != null) {
            b.setBody(body).setSize(body.getBytes(StandardCharsets.UTF_8).length);
        }
        return b;
    }

    private static HeaderValue raw(String name, String value) {
        return HeaderValue.newBuilder().setKey(name).setRawValue(ByteString.copyFromUtf8(value)).build();
    }

    private static String toolCall(int id, String tool) {
        return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool
                + "\",\"arguments\":{}}}";
    }

    // ---- assertions --------------------------------------------------------------------------------------

    /** Asserts a denial with {@code httpStatus} and {@code code}; returns its JSON body. */
    private static JsonNode denied(CheckResponse res, int httpStatus, String code) throws Exception {
        assertThat(res.getStatus().getCode()).as(res.toString()).isEqualTo(7);
        assertThat(res.hasDeniedResponse()).isTrue();
        assertThat(res.getDeniedResponse().getStatus().getCodeValue()).isEqualTo(httpStatus);
        JsonNode body = JSON.readTree(res.getDeniedResponse().getBody());
        assertThat(body.path("code").asText()).as(body.toString()).isEqualTo(code);
        assertThat(body.path("decision_id").asText()).matches("[0-9a-f]{32}");
        assertThat(decisionRecord(body.path("decision_id").asText()).path("code").asText()).isEqualTo(code);
        return body;
    }

    private static String header(List<HeaderValueOption> headers, String name) {
        return headers.stream().filter(h -> h.getHeader().getKey().equals(name)).map(h -> h.getHeader().getValue())
                .findFirst().orElse(null);
    }

    /** The one decision record with {@code decisionId} in the audit file. */
    private static JsonNode decisionRecord(String decisionId) throws Exception {
        List<JsonNode> recs = f.auditLines().stream().map(ExtAuthzTest::parse)
                .filter(r -> r.path("decision_id").asText().equals(decisionId)).collect(Collectors.toList());
        assertThat(recs).as("audit records of %s", decisionId).hasSize(1);
        assertThat(recs.get(0).path("phase").asText()).isEqualTo("decision");
        return recs.get(0);
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static HttpResponse<String> dataPlane(SpiffeId agent, String path, String token) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(f.pki.jdkClient(agent)).build();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + f.dataPlane.port() + path))
                .timeout(Duration.ofSeconds(10)).GET();
        if (token != null) {
            b.header("toolgate-task", token);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
