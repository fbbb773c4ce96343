package dev.toolgate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.JdkSslContexts;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sidecar as a process: tasks, a revoked grant and an ended task survive a SIGKILL (no clean shutdown) exactly,
 * and a torn last journal record from the crash is tolerated; the control API it starts serves the restored tasks.
 */
class RunRestartTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void tasksAndRevocationsSurviveAKilledSidecar() throws Exception {
        try (TestUpstream upstream = TestUpstream.start()) {
            Path config = writeConfig(upstream.url());
            SidecarProcess first = SidecarProcess.launch(config);
            HttpClient agent;
            String tokenA;
            String tokenB;
            String idA;
            JsonNode before;
            try {
                agent = agentClient();
                JsonNode a = first.post(agent, "/_toolgate/v1/tasks", """
                        {"purpose":"survive a crash","ttl":"30m","grants":[
                          {"route":"weather","operations":["GET /forecast/**"]},
                          {"route":"weather","operations":["GET /alerts"]}]}""");
                JsonNode b = first.post(agent, "/_toolgate/v1/tasks", """
                        {"purpose":"ended before the crash","grants":[{"route":"weather","operations":["GET /**"]}]}""");
                tokenA = a.path("token").asText();
                tokenB = b.path("token").asText();
                idA = a.path("task_id").asText();
                assertThat(first.send(agent, "DELETE", "/_toolgate/v1/tasks/" + idA + "/grants/g2", null).statusCode())
                        .isEqualTo(200);
                assertThat(first.send(agent, "DELETE", "/_toolgate/v1/tasks/" + b.path("task_id").asText(), null)
                        .statusCode()).isEqualTo(200);
                assertThat(first.get(agent, "/api/weather/forecast/oslo", tokenA).statusCode()).isEqualTo(200);
                before = JSON.readTree(first.send(agent, "GET", "/_toolgate/v1/tasks/" + idA, null).body());
            } finally {
                first.kill();
            }
            // The crash tore the record being written: half a line at the end of the journal.
            Files.writeString(dir.resolve("tasks.journal"), "{\"rev\":5,\"type\":\"star",
                    StandardOpenOption.APPEND);

            SidecarProcess second = SidecarProcess.launch(config);
            try {
                JsonNode after = JSON.readTree(second.send(agent, "GET", "/_toolgate/v1/tasks/" + idA, null).body());
                assertThat(after).isEqualTo(before);
                assertThat(after.path("grants").get(1).path("state").asText()).isEqualTo("revoked");
                assertThat(second.get(agent, "/api/weather/forecast/bergen", tokenA).statusCode()).isEqualTo(200);
                HttpResponse<String> revoked = second.get(agent, "/api/weather/alerts", tokenA);
                assertThat(revoked.statusCode()).isEqualTo(403);
                assertThat(JSON.readTree(revoked.body()).path("code").asText()).isEqualTo("DENY_NO_GRANT");
                HttpResponse<String> ended = second.get(agent, "/api/weather/forecast/oslo", tokenB);
                assertThat(JSON.readTree(ended.body()).path("code").asText()).isEqualTo("DENY_TASK_ENDED");
                assertThat(upstream.requests).extracting(TestUpstream.Seen::uri)
                        .containsExactly("/forecast/oslo", "/forecast/bergen");
                // The control API serves the same, restored registry.
                Path agentFiles = DevCa.openOrCreate(dir.resolve("ca"), TestPki.TRUST_DOMAIN)
                        .issueTo(TestPki.AGENT, dir.resolve("agent"));
                java.io.StringWriter out = new java.io.StringWriter();
                picocli.CommandLine cli = Main.commandLine();
                cli.setOut(new java.io.PrintWriter(out, true));
                assertThat(cli.execute("task", "get", idA, "--control", "127.0.0.1:" + second.controlPort(),
                        "--svid-dir", agentFiles.toString())).isZero();
                assertThat(out.toString()).startsWith("task " + idA + "  active")
                        .contains("  g2  weather  GET /alerts  revoked");
            } finally {
                second.kill();
            }
        }
    }

    private Path writeConfig(String upstreamUrl) throws IOException {
        Files.writeString(dir.resolve("routes.yaml"), """
                routes:
                  - name: weather
                    prefix: /api/weather
                    upstream: {url: %s}
                """.formatted(upstreamUrl));
        return Files.writeString(dir.resolve("sidecar.yaml"), """
                listener: {port: 0}
                admin: {port: 0}
                control: {port: 0}
                identity: {source: dev, trustDomain: %s, spiffeId: %s, stateDir: ca}
                audit: {file: audit/audit.jsonl}
                tasks: {journal: tasks.journal, fsync: always}
                routes: [routes.yaml]
                unrestrictedWithoutPolicy: true   # a test of the process, not of policy
                """.formatted(TestPki.TRUST_DOMAIN, TestPki.SIDECAR.uri()));
    }

    private HttpClient agentClient() throws Exception {
        DevCa ca = DevCa.openOrCreate(dir.resolve("ca"), TestPki.TRUST_DOMAIN);
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(JdkSslContexts.client(ca.issue(TestPki.AGENT), ca.bundles())).build();
    }
}
