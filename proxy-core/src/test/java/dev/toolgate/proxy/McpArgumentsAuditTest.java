package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.RouteAuditConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MCP call arguments in decision records, through the real sidecar: by default only their digest; on a route that
 * opts in, the listed arguments too, redacted; a batch has one digest over all its messages' arguments and the
 * captured names prefixed with each message's index.
 */
class McpArgumentsAuditTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail trail;
    static ProxyServer proxy;
    static HttpClient client;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        sink = new MemoryAuditSink();
        trail = AuditTrail.start(sink, null, 1000);
        UpstreamConfig up = new UpstreamConfig(URI.create(upstream.url() + "/mcp"), null, null);
        proxy = Sidecar.builder(pki, Sidecar.config(List.of(
                new RouteConfig("plain-mcp", "/mcp/plain", null, Protocol.MCP, up, null, null),
                new RouteConfig("captured-mcp", "/mcp/captured", null, Protocol.MCP, up, null, null, null,
                        new RouteAuditConfig(List.of("repo", "query"), List.of("ACME-[0-9]{6}")))))).audit(trail).build();
        client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
    }

    @AfterAll
    static void stop() {
        proxy.close();
        trail.close();
        upstream.close();
    }

    static String call(int id, String arguments) {
        return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"search\","
                + "\"arguments\":" + arguments + "}}";
    }

    static JsonNode decisionOf(String route, String body) throws Exception {
        HttpResponse<String> res = client.send(HttpRequest.newBuilder(
                        URI.create("https://127.0.0.1:" + proxy.port() + "/mcp/" + route))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
        AuditRecords.awaitWritten(trail);
        JsonNode last = null;
        for (String line : sink.lines) {
            JsonNode n = JSON.readTree(line);
            if (n.path("phase").asText().equals("decision") && n.path("route").asText().equals(route + "-mcp")) {
                last = n;
            }
        }
        return last;
    }

    @Test
    void byDefaultARecordCarriesOnlyTheArgumentsDigest() throws Exception {
        String args = "{\"repo\":\"acme/api\",\"query\":\"bob@example.com\"}";
        JsonNode d = decisionOf("plain", call(1, args));
        assertThat(d.path("args_digest").asText()).isEqualTo(ArgumentCapture.digest(JSON.readTree(args)))
                .matches("[0-9a-f]{64}");
        assertThat(d.has("args")).isFalse();
        assertThat(String.join("\n", sink.lines)).doesNotContain("bob@example.com");
    }

    @Test
    void aCapturingRouteRecordsTheListedArgumentsRedacted() throws Exception {
        String args = "{\"query\":\"ticket ACME-123456 from bob@example.com\",\"repo\":\"acme/api\",\"body\":\"x\"}";
        JsonNode d = decisionOf("captured", call(1, args));
        assertThat(d.path("args_digest").asText()).isEqualTo(ArgumentCapture.digest(JSON.readTree(args)));
        assertThat(d.path("args").path("repo").asText()).isEqualTo("acme/api");
        assertThat(d.path("args").path("query").asText()).isEqualTo("ticket [REDACTED] from [REDACTED:email]");
        assertThat(d.path("args").has("body")).isFalse();
    }

    @Test
    void aBatchHasOneDigestAndIndexedCapturedNames() throws Exception {
        String a0 = "{\"repo\":\"acme/one\"}";
        String a1 = "{\"repo\":\"acme/two\",\"query\":\"is:open\"}";
        JsonNode d = decisionOf("captured", "[" + call(1, a0) + "," + call(2, a1) + "]");
        assertThat(d.path("args_digest").asText())
                .isEqualTo(ArgumentCapture.digest(JSON.readTree("[" + a0 + "," + a1 + "]")));
        assertThat(d.path("args").path("0.repo").asText()).isEqualTo("acme/one");
        assertThat(d.path("args").path("1.repo").asText()).isEqualTo("acme/two");
        assertThat(d.path("args").path("1.query").asText()).isEqualTo("is:open");
        // Messages without arguments add nothing: a list of tools has no digest.
        JsonNode list = decisionOf("plain", "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}");
        assertThat(list.path("operation").asText()).isEqualTo("mcp:tools/list");
        assertThat(list.has("args_digest")).isFalse();
    }
}
