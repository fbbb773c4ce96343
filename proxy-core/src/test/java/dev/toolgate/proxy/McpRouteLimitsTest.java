package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.McpLimitsConfig;
import dev.toolgate.config.McpRouteConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.testing.AuditRecords;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MCP body limits per route ({@code mcp.limits}): a route whose tool writes files takes a 1.5 MiB argument that the
 * defaults refuse, and a route may narrow batches and strings; a body past its route's limits never reaches the
 * tool and its decision record says which limit. Real mTLS, a real upstream.
 */
class McpRouteLimitsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail audit;
    static ProxyServer proxy;
    static HttpClient client;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        SidecarConfig config = Sidecar.config(List.of(
                route("files", "/mcp/files", new McpLimitsConfig(2 << 20, 2 << 20, null, null)),
                route("narrow", "/mcp/narrow", new McpLimitsConfig(null, 64, null, 2)),
                route("plain", "/mcp/plain", null)));
        sink = new MemoryAuditSink();
        audit = AuditTrail.start(sink, null, 10_000);
        proxy = Sidecar.builder(pki, config).audit(audit).build();
        client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT))
                .version(HttpClient.Version.HTTP_1_1).build();
        List<GrantRequest> grants = List.of("files", "narrow", "plain").stream()
                .map(r -> new GrantRequest(r, List.of("mcp:tools/call:*"), null, null, null)).toList();
        token = proxy.tasks().start(TestPki.AGENT, new StartRequest(null, "write files", null, grants)).token();
    }

    private static RouteConfig route(String name, String prefix, McpLimitsConfig limits) {
        return new RouteConfig(name, prefix, null, Protocol.MCP,
                new UpstreamConfig(URI.create(upstream.url() + "/mcp"), null, null), List.of(), null, null,
                new McpRouteConfig(false, limits), null);
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

    static HttpResponse<String> post(String prefix, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + prefix))
                .timeout(Duration.ofSeconds(20)).header("content-type", "application/json")
                .header("toolgate-task", token).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static String writeFile(int id, int contentChars) {
        return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"write_file\","
                + "\"arguments\":{\"path\":\"/tmp/a.txt\",\"content\":\"" + "x".repeat(contentChars) + "\"}}}";
    }

    @Test
    void aRouteWithLargerLimitsTakesABodyTheDefaultsRefuse() throws Exception {
        String body = writeFile(1, 1_500_000);
        HttpResponse<String> files = post("/mcp/files", body);
        assertThat(files.statusCode()).as(files.body()).isEqualTo(200);
        assertThat(JSON.readTree(files.body()).path("bodyBytes").asLong()).isEqualTo(body.length());

        HttpResponse<String> plain = post("/mcp/plain", body);
        assertThat(plain.statusCode()).isEqualTo(413);
        assertThat(upstream.requests).as("only the files route forwarded it").hasSize(1);
    }

    @Test
    void aNarrowRouteRefusesBatchesAndStringsPastItsLimitsNamingThem() throws Exception {
        String batch = "[" + writeFile(1, 3) + "," + writeFile(2, 3) + "," + writeFile(3, 3) + "]";
        HttpResponse<String> big = post("/mcp/narrow", batch);
        assertThat(JSON.readTree(big.body()).path("error").path("code").asInt()).as(big.body()).isEqualTo(-32600);
        JsonNode batchRecord = lastDecision();
        assertThat(batchRecord.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(batchRecord.path("reason").asText()).contains("batch of 3 messages").contains("maxBatch");

        HttpResponse<String> longString = post("/mcp/narrow", writeFile(4, 100));
        assertThat(JSON.readTree(longString.body()).path("error").path("code").asInt()).isEqualTo(-32600);
        assertThat(lastDecision().path("reason").asText()).contains("longer than 64 characters")
                .contains("maxStringChars");
        assertThat(upstream.requests).isEmpty();

        // Within the narrow limits the same route forwards.
        String two = "[" + writeFile(5, 3) + "," + writeFile(6, 3) + "]";
        assertThat(post("/mcp/narrow", two).statusCode()).isEqualTo(200);
        assertThat(upstream.requests).hasSize(1);
    }

    @Test
    void limitsOutsideTheirRangeAreRefusedAtLoad() {
        assertThatThrownBy(() -> new McpLimitsConfig(128 << 20, null, null, null))
                .hasMessageContaining("maxBodyBytes");
        assertThatThrownBy(() -> new McpLimitsConfig(null, 0, null, null)).hasMessageContaining("maxStringChars");
        assertThatThrownBy(() -> new McpLimitsConfig(null, null, 1, null)).hasMessageContaining("maxDepth");
        assertThatThrownBy(() -> new McpLimitsConfig(null, null, null, 0)).hasMessageContaining("maxBatch");
        assertThatThrownBy(() -> new RouteConfig("h", "/h", null, Protocol.HTTP,
                new UpstreamConfig(URI.create("http://127.0.0.1:1"), null, null), List.of(), null, null,
                new McpRouteConfig(false, new McpLimitsConfig(2 << 20, null, null, null)), null))
                .hasMessageContaining("mcp settings on a");
    }

    static JsonNode lastDecision() throws Exception {
        return AuditRecords.of(audit, sink).awaitLast("a decision", AuditRecords.field("phase", "decision"));
    }
}
