package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An MCP route: each POST is judged by the JSON-RPC messages it carries (tool by tool), refusals come back as
 * JSON-RPC errors, and what is allowed reaches the tool byte for byte. Real mTLS, a real upstream.
 */
class McpRouteTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail audit;
    static ProxyServer proxy;
    static HttpClient h1;
    static HttpClient h2;
    static SSLContext agentTls;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        SidecarConfig config = Sidecar.config(List.of(new RouteConfig("github-mcp", "/mcp/github", null, Protocol.MCP,
                new UpstreamConfig(URI.create(upstream.url() + "/mcp"), null, null), List.of("external"), null)));
        sink = new MemoryAuditSink();
        audit = AuditTrail.start(sink, null, 10_000);
        proxy = Sidecar.builder(pki, config).audit(audit).build();
        agentTls = pki.jdkClient(TestPki.AGENT);
        h1 = HttpClient.newBuilder().sslContext(agentTls).version(HttpClient.Version.HTTP_1_1).build();
        h2 = HttpClient.newBuilder().sslContext(agentTls).version(HttpClient.Version.HTTP_2).build();
        token = proxy.tasks().start(TestPki.AGENT, new StartRequest(null, "triage issues", null, List.of(
                new GrantRequest("github-mcp", List.of("mcp:tools/call:search_issues", "mcp:tools/list"), null, null,
                        null)))).token();
    }

    @AfterAll
    static void stop() {
        proxy.close();
        audit.close();
        upstream.close();
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
    }

    static HttpResponse<String> post(HttpClient client, String body) throws Exception {
        return post(client, body, "application/json", token);
    }

    static HttpResponse<String> post(HttpClient client, String body, String contentType, String task)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/mcp/github"))
                .timeout(Duration.ofSeconds(10))
                .header("content-type", contentType)
                .header("toolgate-task", task)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String call(int id, String tool, String args) {
        return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool
                + "\",\"arguments\":" + args + "}}";
    }

    @Test
    void aGrantedToolCallReachesTheToolByteForByte() throws Exception {
        // Odd but valid spacing and key order: the tool must get exactly these bytes, not a re-serialization.
        String body = "{ \"params\" : {\"arguments\":{\"repo\":\"acme/api\",\"q\":\"bug\"},\"name\":\"search_issues\"},"
                + "\"id\":7 ,\"method\":\"tools/call\",\"jsonrpc\":\"2.0\" }";
        for (HttpClient client : List.of(h1, h2)) {
            upstream.requests.clear();
            HttpResponse<String> res = post(client, body);
            assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
            JsonNode echo = JSON.readTree(res.body());
            assertThat(echo.path("bodyBytes").asLong()).isEqualTo(body.length());
            assertThat(echo.path("sha256").asText()).isEqualTo(sha256(body));
            assertThat(upstream.requests).singleElement().satisfies(r -> {
                assertThat(r.uri()).isEqualTo("/mcp");
                assertThat(r.headers().contains("toolgate-task")).isFalse();
            });
        }
        assertThat(lastDecision().path("operation").asText()).isEqualTo("mcp:tools/call:search_issues");
    }

    @Test
    void anUngrantedToolIsAJsonRpcErrorWithItsIdAndNothingIsForwarded() throws Exception {
        HttpResponse<String> res = post(h1, call(42, "delete_repo", "{\"repo\":\"acme/api\"}"));
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode err = JSON.readTree(res.body());
        assertThat(err.path("jsonrpc").asText()).isEqualTo("2.0");
        assertThat(err.path("id").asInt()).isEqualTo(42);
        assertThat(err.path("error").path("code").asInt()).isEqualTo(-32001);
        assertThat(err.path("error").path("message").asText()).startsWith("DENY_NO_GRANT: ");
        assertThat(err.path("error").path("data").path("code").asText()).isEqualTo("DENY_NO_GRANT");
        assertThat(err.path("error").path("data").path("decision_id").asText()).hasSize(32);
        assertThat(upstream.requests).isEmpty();
        assertThat(lastDecision().path("operation").asText()).isEqualTo("mcp:tools/call:delete_repo");
    }

    @Test
    void aBatchWithOneDeniedRequestIsRefusedWholeWithAnErrorPerId() throws Exception {
        String batch = "[" + call(1, "search_issues", "{}") + ","
                + "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"},"
                + call(2, "delete_repo", "{}") + "]";
        HttpResponse<String> res = post(h1, batch);
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode arr = JSON.readTree(res.body());
        assertThat(arr.isArray()).isTrue();
        assertThat(arr).hasSize(2);
        assertThat(arr.get(0).path("id").asInt()).isEqualTo(1);
        assertThat(arr.get(0).path("error").path("message").asText()).contains("another request of the batch");
        assertThat(arr.get(1).path("id").asInt()).isEqualTo(2);
        assertThat(arr.get(1).path("error").path("data").path("code").asText()).isEqualTo("DENY_NO_GRANT");
        assertThat(upstream.requests).isEmpty();

        // One decision record for the batch, saying how each element was decided.
        JsonNode record = lastDecision();
        assertThat(record.path("code").asText()).isEqualTo("DENY_NO_GRANT");
        JsonNode elements = record.path("elements");
        assertThat(elements).hasSize(3);
        assertThat(elements.get(0).path("operation").asText()).isEqualTo("mcp:tools/call:search_issues");
        assertThat(elements.get(0).path("code").asText()).isEqualTo("ALLOW");
        assertThat(elements.get(0).path("grant_id").asText()).isNotEmpty();
        assertThat(elements.get(1).path("operation").asText()).isEqualTo("mcp:notifications/progress");
        assertThat(elements.get(2).path("operation").asText()).isEqualTo("mcp:tools/call:delete_repo");
        assertThat(elements.get(2).path("code").asText()).isEqualTo("DENY_NO_GRANT");
        assertThat(elements.get(2).has("grant_id")).isFalse();
    }

    @Test
    void aRefusedBatchSpendsNoBudget() throws Exception {
        String oneCall = proxy.tasks().start(TestPki.AGENT, new StartRequest(null, "one search", null, List.of(
                new GrantRequest("github-mcp", List.of("mcp:tools/call:search_issues"), null, 1L, null)))).token();
        String batch = "[" + call(1, "search_issues", "{}") + "," + call(2, "delete_repo", "{}") + "]";
        JsonNode refused = JSON.readTree(post(h1, batch, "application/json", oneCall).body());
        assertThat(refused.get(1).at("/error/data/code").asText()).isEqualTo("DENY_NO_GRANT");
        // The allowed element was not forwarded, so its grant still has its one call.
        assertThat(post(h1, call(3, "search_issues", "{}"), "application/json", oneCall).statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(post(h1, call(4, "search_issues", "{}"), "application/json", oneCall).body())
                .at("/error/data/code").asText()).isEqualTo("DENY_BUDGET");
        assertThat(upstream.requests).hasSize(1);
    }

    @Test
    void housekeepingPassesWithoutAGrantOfItsOwn() throws Exception {
        String init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                + "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
        assertThat(post(h1, init).statusCode()).isEqualTo(200);
        assertThat(post(h1, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}").statusCode()).isEqualTo(200);
        assertThat(upstream.requests).hasSize(2);
        // Not housekeeping: a method nobody granted.
        JsonNode denied = JSON.readTree(post(h1, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/list\"}")
                .body());
        assertThat(denied.path("error").path("data").path("code").asText()).isEqualTo("DENY_NO_GRANT");
    }

    @Test
    void withoutATaskEvenHousekeepingIsDenied() throws Exception {
        HttpResponse<String> res = post(h1, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}",
                "application/json", "tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assertThat(JSON.readTree(res.body()).path("error").path("data").path("code").asText())
                .isEqualTo("DENY_NO_TASK");
        assertThat(upstream.requests).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "not json",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues\"}} x",
            "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"tools/list\"}",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues\",\"name\":\"delete_repo\"}}",
            "[]",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}",
    })
    void hostileBodiesAreRefusedAsJsonRpcErrorsAndNothingIsForwarded(String body) throws Exception {
        HttpResponse<String> res = post(h1, body);
        assertThat(res.statusCode()).as(res.body()).isEqualTo(400);
        JsonNode err = JSON.readTree(res.body());
        assertThat(err.path("error").path("code").asInt()).isIn(-32700, -32600, -32602);
        assertThat(err.path("error").path("data").path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(upstream.requests).isEmpty();
        assertThat(lastDecision().path("code").asText()).isEqualTo("DENY_MALFORMED");
    }

    @Test
    void deepNestingAndHugeStringsAreRefused() throws Exception {
        String deep = call(1, "search_issues", "[".repeat(100) + "]".repeat(100));
        assertThat(post(h1, deep).statusCode()).isEqualTo(400);
        String huge = call(1, "search_issues", "{\"q\":\"" + "x".repeat(300 * 1024) + "\"}");
        assertThat(post(h1, huge).statusCode()).isEqualTo(400);
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void aBodyOverTheLimitIsRefusedBeforeItIsSent() throws Exception {
        // The head announces more than the sidecar inspects: 413 before the body (no 100 Continue), connection closed.
        try (RawHttpClient raw = new RawHttpClient(agentTls, proxy.port())) {
            RawHttpClient.Response res = raw.exchange("POST /mcp/github HTTP/1.1\r\nHost: s\r\ntoolgate-task: " + token
                    + "\r\ncontent-type: application/json\r\ncontent-length: " + (2 << 20)
                    + "\r\nexpect: 100-continue\r\n\r\n");
            assertThat(res.status()).isEqualTo(413);
            assertThat(raw.serverClosed()).isTrue();
        }
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void aPostThatIsNotJsonIsRefused() throws Exception {
        HttpResponse<String> res = post(h1, "a=b", "application/x-www-form-urlencoded", token);
        assertThat(res.statusCode()).isEqualTo(415);
        assertThat(upstream.requests).isEmpty();
    }

    /**
     * The 415 comes on the request head while the agent is still sending a large body: the sidecar must read and
     * drop the rest before it closes, or the agent's client fails on its write (or on a reset) and never reads the
     * answer.
     */
    @Test
    void aLargeBodyThatIsNotJsonStillGetsIts415() throws Exception {
        String body = "a=" + "b".repeat(8 << 20);
        HttpResponse<String> res = post(h1, body, "text/plain", token);
        assertThat(res.statusCode()).isEqualTo(415);
        assertThat(JSON.readTree(res.body()).at("/error/data/code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void aChunkedBodyIsForwardedWithItsLength() throws Exception {
        String body = call(5, "search_issues", "{\"repo\":\"acme/api\"}");
        try (RawHttpClient raw = new RawHttpClient(agentTls, proxy.port())) {
            String chunked = Integer.toHexString(10) + "\r\n" + body.substring(0, 10) + "\r\n"
                    + Integer.toHexString(body.length() - 10) + "\r\n" + body.substring(10) + "\r\n0\r\n\r\n";
            RawHttpClient.Response res = raw.exchange("POST /mcp/github HTTP/1.1\r\nHost: s\r\ntoolgate-task: " + token
                    + "\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n" + chunked);
            assertThat(res.status()).isEqualTo(200);
            assertThat(JSON.readTree(res.body()).path("sha256").asText()).isEqualTo(sha256(body));
        }
        assertThat(upstream.requests).singleElement().satisfies(r -> {
            assertThat(r.headers().get("content-length")).isEqualTo(Integer.toString(body.length()));
            assertThat(r.headers().contains("transfer-encoding")).isFalse();
        });
    }

    private static String sha256(String s) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    private static JsonNode lastDecision() throws Exception {
        AuditRecords.awaitWritten(audit);
        List<JsonNode> decisions = new ArrayList<>();
        for (String line : sink.lines) {
            JsonNode n = JSON.readTree(line);
            if (n.path("phase").asText().equals("decision")) {
                decisions.add(n);
            }
        }
        return decisions.get(decisions.size() - 1);
    }
}
