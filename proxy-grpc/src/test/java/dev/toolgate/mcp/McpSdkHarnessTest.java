package dev.toolgate.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.mcp.McpSdkClient.Op;
import dev.toolgate.mcp.McpSdkClient.Result;
import dev.toolgate.testing.TestPki;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MCP TypeScript SDK harness on its own, without the sidecar: the SDK client talks to the SDK
 * server directly, over plain HTTP and over mTLS. The sidecar's MCP tests put the sidecar between
 * the two; this test proves that what they build on works.
 */
class McpSdkHarnessTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    static Path dir;

    @BeforeAll
    static void install() {
        // Fails (never skips) when Node.js is missing; runs `npm ci` when node_modules is missing.
        McpSdk.ensureInstalled();
    }

    @Test
    void clientAndServerSpeakStreamableHttp() throws Exception {
        try (McpSdkServer server = McpSdkServer.start()) {
            Result result = McpSdkClient.to(server.url())
                    .header("toolgate-task", "tg1.not-a-real-token")
                    .run(Op.tool("search_issues", Map.of("repo", "acme/api", "query", "label:bug")),
                            Op.tool("delete_repo", Map.of("repo", "acme/api")),
                            Op.tool("echo", Map.of("text", "héllo \u2603")),
                            Op.readResource("docs://toolgate/readme"),
                            Op.getPrompt("triage", Map.of("repo", "acme/api")),
                            Op.ping(),
                            Op.terminate());

            JsonNode init = result.initialize();
            assertThat(init.path("ok").asBoolean()).as("%s", init).isTrue();
            assertThat(init.at("/result/serverInfo/name").asText()).isEqualTo("toolgate-test-server");
            assertThat(init.path("protocolVersion").asText()).matches("\\d{4}-\\d{2}-\\d{2}");
            String sessionId = init.path("sessionId").asText();
            assertThat(sessionId).isNotBlank();

            assertThat(result.toolNames()).containsExactlyInAnyOrder("search_issues", "delete_repo", "echo");

            JsonNode search = result.toolCall("search_issues");
            assertThat(search.path("ok").asBoolean()).as("%s", search).isTrue();
            assertThat(Result.text(search)).contains("\"repo\":\"acme/api\"", "first match for label:bug");
            assertThat(Result.text(result.toolCall("delete_repo"))).isEqualTo("deleted acme/api");
            assertThat(Result.text(result.toolCall("echo"))).isEqualTo("héllo \u2603");
            assertThat(result.line("resources/read").at("/result/contents/0/text").asText())
                    .isEqualTo("toolgate test server readme");
            assertThat(result.line("prompts/get").at("/result/messages/0/content/text").asText())
                    .isEqualTo("Triage the open issues of acme/api");
            assertThat(result.line("ping").path("ok").asBoolean()).isTrue();
            assertThat(result.line("terminate").path("ok").asBoolean()).isTrue();

            // What reached the server: the calls with their arguments, the extra header, the session's end.
            server.awaitEvent(e -> "session".equals(e.path("event").asText())
                    && "closed".equals(e.path("state").asText()), WAIT);
            assertThat(server.toolCalls()).extracting(e -> e.path("tool").asText())
                    .containsExactly("search_issues", "delete_repo", "echo");
            assertThat(server.toolCalls().get(1).path("arguments").path("repo").asText()).isEqualTo("acme/api");
            assertThat(server.toolCalls()).allSatisfy(e -> assertThat(e.path("sessionId").asText()).isEqualTo(sessionId));
            assertThat(server.events("http")).allSatisfy(e ->
                    assertThat(e.at("/headers/toolgate-task").asText()).isEqualTo("tg1.not-a-real-token"));
            assertThat(server.events("http")).extracting(e -> e.path("method").asText()).contains("POST", "DELETE");
            JsonNode deleteCall = server.events("http").stream()
                    .filter(e -> e.path("body").asText().contains("\"delete_repo\"")).findFirst().orElseThrow();
            assertThat(deleteCall.path("body").asText()).contains("\"method\":\"tools/call\"");
        }
    }

    @Test
    void jsonResponsesWithoutSessions() throws Exception {
        try (McpSdkServer server = McpSdkServer.start("--stateless", "--json-response")) {
            Result result = McpSdkClient.to(server.url()).run(Op.tool("echo", Map.of("text", "plain json")));
            assertThat(result.initialize().path("sessionId").isNull()).isTrue();
            assertThat(result.toolNames()).contains("echo");
            assertThat(Result.text(result.toolCall("echo"))).isEqualTo("plain json");
        }
    }

    @Test
    void errorsAreReportedNotThrown() throws Exception {
        try (McpSdkServer server = McpSdkServer.start()) {
            // Another session's id that the server never issued: HTTP 404, as the SDK client sees it.
            Result unknownSession = McpSdkClient.to(server.url()).sessionId("not-a-session")
                    .run(Op.tool("echo", Map.of("text", "x")));
            JsonNode list = unknownSession.line("tools/list");
            assertThat(list.path("ok").asBoolean()).isFalse();
            assertThat(list.at("/error/kind").asText()).isEqualTo("http");
            assertThat(list.at("/error/code").asInt()).isEqualTo(404);
            assertThat(server.toolCalls()).isEmpty();

            // Bad arguments: the SDK server answers with a tool error result, not a JSON-RPC error.
            Result bad = McpSdkClient.to(server.url()).noList().run(Op.tool("echo", Map.of("text", 5)));
            assertThat(bad.toolCall("echo").at("/result/isError").asBoolean()).isTrue();
        }
        // Nobody listening: a transport error on initialize, and the run ends there.
        try (McpSdkServer gone = McpSdkServer.start()) {
            gone.close();
            Result refused = McpSdkClient.to(gone.url()).run(Op.ping());
            assertThat(refused.lines()).hasSize(1);
            assertThat(refused.initialize().path("ok").asBoolean()).isFalse();
            assertThat(refused.initialize().at("/error/kind").asText()).isEqualTo("transport");
        }
    }

    @Test
    void mutualTlsWithDevCaCertificates() throws Exception {
        TestPki pki = TestPki.create(dir);
        Path upstream = pki.files(SpiffeId.parse("spiffe://toolgate.test/tools/mcp-server"));
        Path agent = pki.files(TestPki.AGENT);
        try (McpSdkServer server = McpSdkServer.startTls(upstream.resolve("svid.pem"), upstream.resolve("svid.key"),
                upstream.resolve("bundle.pem"))) {
            assertThat(server.url().getScheme()).isEqualTo("https");
            Result result = McpSdkClient.to(server.url())
                    .tls(agent.resolve("svid.pem"), agent.resolve("svid.key"), agent.resolve("bundle.pem"))
                    .run(Op.tool("echo", Map.of("text", "over mTLS")));
            assertThat(Result.text(result.toolCall("echo"))).isEqualTo("over mTLS");
            assertThat(server.events("http")).allSatisfy(e ->
                    assertThat(e.path("peer").asText()).contains("URI:" + TestPki.AGENT));

            // Without a client certificate the handshake fails: nothing reaches the MCP server.
            int before = server.events("http").size();
            Result anonymous = McpSdkClient.to(server.url()).tls(null, null, agent.resolve("bundle.pem"))
                    .run(Op.ping());
            assertThat(anonymous.initialize().path("ok").asBoolean()).isFalse();
            assertThat(anonymous.initialize().at("/error/kind").asText()).isEqualTo("transport");
            assertThat(server.events("http")).hasSize(before);
        }
    }
}
