package dev.toolgate.control;

import static dev.toolgate.control.ControlFixture.AGENT;
import static dev.toolgate.control.ControlFixture.ENVOY;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.call.IdentityHeaders;
import dev.toolgate.testing.RawHttpClient;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The header rules of the data plane hold on Envoy's ext_authz path too, from the same code (issue 17, item 6):
 * a header name with {@code _} or outside RFC 9110's token grammar is refused by {@code Admission} on both paths
 * with the same code and reason ({@code call.HeaderNames}); an allowed check tells Envoy to remove every
 * identity-asserting header the data plane drops ({@code call.IdentityHeaders}, {@code headers_to_remove}).
 */
class ExtAuthzHeadersTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static ControlFixture f;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        f = ControlFixture.start(dir);
        token = f.start(AGENT, "ext_authz headers", "GET /forecast/*").getToken();
    }

    @AfterAll
    static void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"transfer_encoding", "x_forwarded_for", "x_http_method_override"})
    void underscoreInAHeaderNameIsRefusedAsOnTheDataPlane(String name) throws Exception {
        CheckResponse res = check(headers(Map.of("toolgate-task", token, name, "1")));

        JsonNode body = denied(res, 400, "DENY_MALFORMED");
        assertThat(body.path("reason").asText()).contains("'" + name + "'").contains("underscore");
        JsonNode rec = decisionRecord(body.path("decision_id").asText());
        assertThat(rec.path("decision").asText()).isEqualTo("deny");
        assertThat(rec.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(rec.path("reason").asText()).isEqualTo(body.path("reason").asText());

        // The data plane: the same code and the same reason, from the same check.
        try (RawHttpClient c = new RawHttpClient(f.pki.jdkClient(AGENT), f.dataPlane.port())) {
            RawHttpClient.Response direct = c.exchange("GET /api/weather/forecast/oslo HTTP/1.1\r\nHost: sidecar\r\n"
                    + "toolgate-task: " + token + "\r\n" + name + ": 1\r\nConnection: close\r\n\r\n");
            assertThat(direct.status()).isEqualTo(400);
            JsonNode json = JSON.readTree(direct.body());
            assertThat(json.path("code").asText()).isEqualTo("DENY_MALFORMED");
            assertThat(json.path("reason").asText()).isEqualTo(body.path("reason").asText());
        }
    }

    /** Envoy's {@code encode_raw_headers}: names as the agent sent them, in {@code header_map}. */
    @Test
    void aNameOutsideTheTokenGrammarInTheRawHeaderMapIsRefused() throws Exception {
        HeaderMap map = HeaderMap.newBuilder()
                .addHeaders(HeaderValue.newBuilder().setKey("toolgate-task").setValue(token))
                .addHeaders(HeaderValue.newBuilder().setKey("x(role)").setValue("admin"))
                .build();
        CheckResponse res = check(request(http(Map.of()).setHeaderMap(map)));

        JsonNode body = denied(res, 400, "DENY_MALFORMED");
        assertThat(body.path("reason").asText()).isEqualTo("header name 'x(role)' is not an RFC 9110 token");
    }

    @Test
    void anAllowedCheckHasEnvoyRemoveIdentityAssertingHeaders() throws Exception {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("toolgate-task", token);
        h.put("x-forwarded-client-cert", "By=spiffe://toolgate.test/admin;URI=spiffe://toolgate.test/admin");
        h.put("forwarded", "for=10.0.0.1");
        h.put("x-forwarded-for", "10.0.0.1");
        h.put("x-spiffe-id", "spiffe://toolgate.test/admin");
        h.put("x-forwarded-tenant", "admin"); // any x-forwarded-*, not only the listed ones
        h.put("x-custom", "kept");
        CheckResponse res = check(headers(h));

        assertThat(res.getStatus().getCode()).as(res.toString()).isZero();
        List<String> removed = res.getOkResponse().getHeadersToRemoveList();
        assertThat(removed).contains("toolgate-task", "x-forwarded-client-cert", "forwarded", "x-forwarded-for",
                "x-spiffe-id", "x-forwarded-tenant");
        // The whole list, also what Envoy did not show (allowed_headers may hide some from the check).
        assertThat(removed).containsAll(IdentityHeaders.NAMES).doesNotContain("x-custom", "authorization");
    }

    // ---- helpers -----------------------------------------------------------------------------------------

    private static CheckResponse check(CheckRequest req) {
        return AuthorizationGrpc.newBlockingStub(f.channel(ENVOY)).withDeadlineAfter(10, TimeUnit.SECONDS).check(req);
    }

    private static CheckRequest headers(Map<String, String> headers) {
        return request(http(headers));
    }

    private static CheckRequest request(AttributeContext.HttpRequest.Builder http) {
        return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setPrincipal(AGENT.uri()))
                .setRequest(AttributeContext.Request.newBuilder().setHttp(http))).build();
    }

    private static AttributeContext.HttpRequest.Builder http(Map<String, String> headers) {
        String path = "/api/weather/forecast/oslo";
        AttributeContext.HttpRequest.Builder b = AttributeContext.HttpRequest.newBuilder()
                .setId("1").setMethod("GET").setPath(path).setHost("tools.internal").setScheme("https")
                .setProtocol("HTTP/1.1")
                .putHeaders(":authority", "tools.internal").putHeaders(":method", "GET").putHeaders(":path", path);
        headers.forEach(b::putHeaders);
        return b;
    }

    private static JsonNode denied(CheckResponse res, int httpStatus, String code) throws Exception {
        assertThat(res.getStatus().getCode()).as(res.toString()).isEqualTo(7);
        assertThat(res.getDeniedResponse().getStatus().getCodeValue()).isEqualTo(httpStatus);
        JsonNode body = JSON.readTree(res.getDeniedResponse().getBody());
        assertThat(body.path("code").asText()).as(body.toString()).isEqualTo(code);
        return body;
    }

    private static JsonNode decisionRecord(String decisionId) throws Exception {
        List<JsonNode> recs = f.auditLines().stream().map(ExtAuthzHeadersTest::parse)
                .filter(r -> r.path("decision_id").asText().equals(decisionId)).toList();
        assertThat(recs).as("audit records of %s", decisionId).hasSize(1);
        return recs.get(0);
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
