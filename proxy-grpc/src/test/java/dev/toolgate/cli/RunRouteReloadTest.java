package dev.toolgate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.JdkSslContexts;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Route hot reload in a real {@code toolgate run} process, through its own file polling: a route file edited in
 * place moves a route to another upstream and adds one, without a restart; a broken edit afterwards is refused,
 * logged with file and line, and the routes in force keep serving.
 */
class RunRouteReloadTest {
    @TempDir
    Path dir;

    @Test
    void editedRouteFilesTakeEffectWithoutARestartAndABrokenEditChangesNothing() throws Exception {
        try (TestUpstream a = TestUpstream.start(); TestUpstream b = TestUpstream.start()) {
            Path routes = Files.writeString(dir.resolve("routes.yaml"), routes(a.url(), null));
            Path config = Files.writeString(dir.resolve("sidecar.yaml"), """
                    listener: {port: 0}
                    admin: {port: 0}
                    control: {port: 0}
                    identity: {source: dev, trustDomain: %s, spiffeId: %s, stateDir: ca}
                    audit: {file: audit/audit.jsonl}
                    routes: [routes.yaml]
                    unrestrictedWithoutPolicy: true   # a test of the process, not of policy
                    """.formatted(TestPki.TRUST_DOMAIN, TestPki.SIDECAR.uri()));
            SidecarProcess sidecar = SidecarProcess.launch(config);
            try {
                DevCa ca = DevCa.openOrCreate(dir.resolve("ca"), TestPki.TRUST_DOMAIN);
                HttpClient agent = HttpClient.newBuilder()
                        .sslContext(JdkSslContexts.client(ca.issue(TestPki.AGENT), ca.bundles())).build();
                String token = sidecar.post(agent, "/_toolgate/v1/tasks", """
                        {"purpose":"reload","grants":[{"route":"weather","operations":["GET /**"]}]}""")
                        .path("token").asText();
                assertThat(sidecar.get(agent, "/api/weather/one", token).statusCode()).isEqualTo(200);
                assertThat(a.requests).hasSize(1);

                rewrite(routes, routes(b.url(), b.url()));
                String starter = """
                        {"purpose":"new route","grants":[{"route":"tools","operations":["GET /**"]}]}""";
                assertThat(eventually(() -> sidecar.send(agent, "POST", "/_toolgate/v1/tasks", starter)
                        .statusCode() == 201)).as("the new route can be granted").isTrue();
                String tools = sidecar.post(agent, "/_toolgate/v1/tasks", starter).path("token").asText();
                assertThat(sidecar.get(agent, "/api/tools/find", tools).statusCode()).isEqualTo(200);
                assertThat(sidecar.get(agent, "/api/weather/two", token).statusCode()).isEqualTo(200);
                assertThat(b.requests).extracting(TestUpstream.Seen::uri).containsExactly("/find", "/two");
                assertThat(a.requests).hasSize(1);
                assertThat(eventually(() -> sidecar.log().stream()
                        .anyMatch(l -> l.contains("routes reloaded: version")))).isTrue();

                rewrite(routes, routes(a.url(), b.url())
                        .replace("prefix: /api/tools", "prefix: /api/tools\n    lables: [pii]"));
                assertThat(eventually(() -> sidecar.log().stream().anyMatch(l -> l.contains(
                        "route files changed but are refused") && l.contains("routes.yaml:7: routes[1].lables"))))
                        .as(String.join("\n", sidecar.log())).isTrue();
                assertThat(sidecar.get(agent, "/api/weather/three", token).statusCode()).isEqualTo(200);
                assertThat(b.requests).extracting(TestUpstream.Seen::uri).containsExactly("/find", "/two", "/three");
                assertThat(sidecar.get(agent, "/api/tools/again", tools).statusCode())
                        .as("the refused edit neither moved weather back to A nor touched tools").isEqualTo(200);
                assertThat(b.requests).extracting(TestUpstream.Seen::uri).endsWith("/three", "/again");
            } finally {
                sidecar.kill();
            }
        }
    }

    private static String routes(String weather, String tools) {
        return """
                routes:
                  - name: weather
                    prefix: /api/weather
                    upstream: {url: "%s"}
                """.formatted(weather) + (tools == null ? "" : """
                  - name: tools
                    prefix: /api/tools
                    upstream: {url: "%s"}
                """.formatted(tools));
    }

    private static void rewrite(Path file, String text) throws Exception {
        FileTime before = Files.getLastModifiedTime(file);
        Files.writeString(file, text);
        Files.setLastModifiedTime(file, FileTime.fromMillis(before.toMillis() + 2000));
    }

    /** The sidecar polls its files every 2 s: wait up to 20 s for what the poll leads to. */
    private static boolean eventually(Await.Condition condition) throws Exception {
        try {
            Await.until("what the sidecar's file poll leads to", Duration.ofSeconds(20), condition);
            return true;
        } catch (AssertionError timedOut) {
            return false; // the caller's assertion names what was expected
        }
    }
}
