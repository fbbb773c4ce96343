package dev.toolgate.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.common.Protocol;
import dev.toolgate.testing.AuditRecords;
import com.fasterxml.jackson.databind.JsonNode;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.McpRouteConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.mcp.McpSdkClient.Op;
import dev.toolgate.mcp.McpSdkClient.Result;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official MCP TypeScript SDK on both sides, the sidecar in between (streamable HTTP over mTLS, sessions,
 * server-sent events): a granted tool call goes through, an ungranted one comes back to the SDK client as the
 * JSON-RPC error of that call and never reaches the server.
 */
class McpThroughSidecarTest {
    @TempDir
    static Path dir;
    static McpSdkServer server;
    static McpSdkServer jsonServer;
    static MemoryAuditSink sink;
    static AuditTrail audit;
    static ProxyServer sidecar;
    static Path agentFiles;
    static Path helperFiles;
    static final dev.toolgate.identity.SpiffeId HELPER =
            dev.toolgate.identity.SpiffeId.parse("spiffe://toolgate.test/agents/helper");

    @BeforeAll
    static void start() throws Exception {
        McpSdk.ensureInstalled();
        server = McpSdkServer.start();
        TestPki pki = TestPki.create(dir);
        agentFiles = pki.files(TestPki.AGENT);
        helperFiles = pki.files(HELPER);
        jsonServer = McpSdkServer.start("--json-response");
        sink = new MemoryAuditSink();
        audit = AuditTrail.start(sink, null, 100_000);
        McpRouteConfig filtered = new McpRouteConfig(true);
        sidecar = Sidecar.builder(pki, Sidecar.config(List.of(
                new RouteConfig("github-mcp", "/mcp/github", null, Protocol.MCP, new UpstreamConfig(server.url(), null, null),
                        List.of("source-code", "external"), null),
                new RouteConfig("github-filtered", "/mcp/filtered", null, Protocol.MCP,
                        new UpstreamConfig(server.url(), null, null), List.of(), null, null, filtered),
                new RouteConfig("github-filtered-json", "/mcp/filtered-json", null, Protocol.MCP,
                        new UpstreamConfig(jsonServer.url(), null, null), List.of(), null, null, filtered)))).audit(audit).build();
    }

    @AfterAll
    static void stop() {
        if (sidecar != null) {
            sidecar.close();
        }
        if (server != null) {
            server.close();
        }
        if (jsonServer != null) {
            jsonServer.close();
        }
        if (audit != null) {
            audit.close();
        }
    }

    private static McpSdkClient client(String token) {
        return client(agentFiles, token);
    }

    private static McpSdkClient client(Path files, String token) {
        return client(files, token, "/mcp/github");
    }

    private static McpSdkClient client(Path files, String token, String path) {
        return McpSdkClient.to(URI.create("https://127.0.0.1:" + sidecar.port() + path))
                .header("toolgate-task", token)
                .tls(files.resolve("svid.pem"), files.resolve("svid.key"), files.resolve("bundle.pem"));
    }

    private static String searchTask(dev.toolgate.identity.SpiffeId agent) throws Exception {
        return sidecar.tasks().start(agent, new StartRequest(null, "search", null, List.of(new GrantRequest(
                "github-mcp", List.of("mcp:tools/list", "mcp:tools/call:search_issues"), null, null, null)))).token();
    }

    @Test
    void aSessionIsUsedOnlyByTheIdentityAndTaskThatOpenedIt() throws Exception {
        String owner = searchTask(TestPki.AGENT);
        Result opened = client(owner).run(Op.tool("search_issues", Map.of("repo", "acme/api", "query", "x")));
        String session = opened.initialize().path("sessionId").asText();
        assertThat(session).isNotBlank();

        // The same agent under another task, and another agent under its own task: both refused.
        Result otherTask = client(searchTask(TestPki.AGENT)).sessionId(session).noList()
                .run(Op.tool("search_issues", Map.of("repo", "acme/api", "query", "y")));
        assertThat(otherTask.toolCall("search_issues").at("/error/data/code").asText())
                .isEqualTo("DENY_IDENTITY_MISMATCH");
        Result otherAgent = client(helperFiles, searchTask(HELPER)).sessionId(session).noList()
                .run(Op.tool("search_issues", Map.of("repo", "acme/api", "query", "z")));
        assertThat(otherAgent.toolCall("search_issues").at("/error/data/code").asText())
                .isEqualTo("DENY_IDENTITY_MISMATCH");
        assertThat(otherAgent.toolCall("search_issues").at("/error/message").asText()).contains("session hijacking");

        // Its owner goes on using it.
        Result again = client(owner).sessionId(session).noList()
                .run(Op.tool("search_issues", Map.of("repo", "acme/api", "query", "w")));
        assertThat(again.toolCall("search_issues").path("ok").asBoolean()).as("%s", again.toolCall("search_issues"))
                .isTrue();
        assertThat(server.toolCalls()).extracting(e -> e.path("arguments").path("query").asText())
                .contains("x", "w").doesNotContain("y", "z");
    }

    @Test
    void aGrantedToolPassesAndAnUngrantedOneIsTheCallsJsonRpcError() throws Exception {
        String token = sidecar.tasks().start(TestPki.AGENT, new StartRequest(null, "triage acme issues", null,
                List.of(new GrantRequest("github-mcp", List.of("mcp:tools/list", "mcp:tools/call:search_issues"),
                        null, null, null)))).token();

        Result result = client(token).run(
                Op.tool("search_issues", Map.of("repo", "acme/api", "query", "label:bug")),
                Op.tool("delete_repo", Map.of("repo", "acme/api")),
                Op.terminate());

        assertThat(result.initialize().path("ok").asBoolean()).as("%s", result.initialize()).isTrue();
        assertThat(result.toolNames()).contains("search_issues", "delete_repo");
        JsonNode search = result.toolCall("search_issues");
        assertThat(search.path("ok").asBoolean()).as("%s", search).isTrue();
        assertThat(Result.text(search)).contains("first match for label:bug");

        JsonNode delete = result.toolCall("delete_repo");
        assertThat(delete.path("ok").asBoolean()).as("%s", delete).isFalse();
        assertThat(delete.at("/error/code").asInt()).isEqualTo(-32001);
        assertThat(delete.at("/error/message").asText()).contains("DENY_NO_GRANT");
        assertThat(delete.at("/error/data/code").asText()).isEqualTo("DENY_NO_GRANT");

        assertThat(server.toolCalls()).extracting(e -> e.path("tool").asText()).containsExactly("search_issues");
        assertThat(server.events("http")).allSatisfy(e ->
                assertThat(e.at("/headers/toolgate-task").isMissingNode()).as("token stripped: %s", e).isTrue());
    }

    @Test
    void aFilteringRouteListsOnlyTheToolsTheTaskMayCallOverEventsAndJson() throws Exception {
        for (String path : List.of("/mcp/filtered", "/mcp/filtered-json")) {
            String route = path.equals("/mcp/filtered") ? "github-filtered" : "github-filtered-json";
            String token = sidecar.tasks().start(TestPki.AGENT, new StartRequest(null, "triage", null, List.of(
                    new GrantRequest(route, List.of("mcp:tools/list", "mcp:tools/call:search_issues"), null, null,
                            null)))).token();
            Result result = client(agentFiles, token, path).run(
                    Op.tool("search_issues", Map.of("repo", "acme/api", "query", "filtered")));
            assertThat(result.toolNames()).as(path).containsExactly("search_issues");
            assertThat(result.toolCall("search_issues").path("ok").asBoolean()).as(path).isTrue();

            // The outcome of the tools/list call records a digest of every tool the server listed, hidden ones too.
            JsonNode outcome = awaitRecord(r -> r.path("phase").asText().equals("outcome")
                    && r.path("route").asText().equals(route) && r.path("operation").asText().equals("mcp:tools/list"));
            assertThat(outcome.path("tools").fieldNames()).toIterable()
                    .contains("search_issues", "delete_repo", "echo");
            assertThat(outcome.at("/tools/delete_repo").asText()).matches("[0-9a-f]{64}");
            assertThat(outcome.path("reason").asText()).contains("2 hidden");
        }
        // The unfiltered route shows everything.
        String all = searchTask(TestPki.AGENT);
        assertThat(client(all).run().toolNames()).contains("search_issues", "delete_repo", "echo");
    }

    private static JsonNode awaitRecord(java.util.function.Predicate<JsonNode> which) throws Exception {
        return AuditRecords.of(audit, sink).awaitAll("a matching record", 1, which).get(0);
    }

    @Test
    void withoutATaskTheSdkCannotEvenInitialize() throws Exception {
        Result result = client("tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").noList().run();
        assertThat(result.initialize().path("ok").asBoolean()).isFalse();
        assertThat(result.initialize().toString()).contains("DENY_NO_TASK");
    }
}
