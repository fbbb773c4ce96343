package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.TaskException;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Default deny when no policy is loaded: a sidecar whose configuration names no policy refuses every task start,
 * through the same grant checks as any policy refusal, and says which policy is missing; the opt-out for local
 * experiments lets grants alone limit the agent and says so at start, loudly.
 */
class FailClosedWithoutPolicyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GRANT = """
            {"purpose":"anything","grants":[{"route":"weather","operations":["* /**"]}]}""";

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static HttpClient agent;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        agent = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(pki.jdkClient(TestPki.AGENT))
                .build();
    }

    @AfterAll
    static void stop() {
        upstream.close();
    }

    private static SidecarConfig config() {
        return Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())));
    }

    @Test
    void withoutAPolicyNoTaskStartsAndTheRefusalNamesTheMissingPolicy() throws Exception {
        try (Captured logs = capture();
             ProxyServer server = Sidecar.start(pki, config().withUnrestrictedWithoutPolicy(false))) {
            HttpResponse<String> refused = startTask(server);
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
            JsonNode body = JSON.readTree(refused.body());
            assertThat(body.path("reason").asText())
                    .contains("grants[0]: outside policy: no policy is loaded")
                    .contains("names no policy documents (policies:)")
                    .contains("unrestrictedWithoutPolicy: true");
            assertThatThrownBy(() -> Sidecar.taskForEverything(server, TestPki.AGENT))
                    .isInstanceOf(TaskException.class).hasMessageContaining("no policy is loaded");
            assertThat(server.tasks().policy().version()).isEqualTo("none");
            assertThat(logs.list).anySatisfy(e -> {
                assertThat(e.getLevel()).isEqualTo(Level.WARN);
                assertThat(e.getFormattedMessage()).contains("no policy is loaded").contains("every task start is"
                        + " refused");
            });
        }
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void aPolicyDirectoryWithoutDocumentsDeniesEverythingToo() throws Exception {
        Path policies = Files.createDirectories(dir.resolve("empty-policies"));
        Files.writeString(policies.resolve("README"), "documents go here\n");
        try (ProxyServer server = Sidecar.start(pki, config().withPolicies(List.of(policies)))) {
            HttpResponse<String> refused = startTask(server);
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(400);
            assertThat(JSON.readTree(refused.body()).path("reason").asText())
                    .contains("outside policy: no policy document applies to " + TestPki.AGENT.uri());
        }
    }

    @Test
    void theOptOutLetsGrantsAloneLimitTheAgentAndSaysSoAtStart() throws Exception {
        try (Captured logs = capture();
             ProxyServer server = Sidecar.start(pki, config().withUnrestrictedWithoutPolicy(true))) {
            HttpResponse<String> started = startTask(server);
            assertThat(started.statusCode()).as(started.body()).isEqualTo(201);
            assertThat(server.tasks().policy().isUnrestricted()).isTrue();
            assertThat(logs.list).anySatisfy(e -> {
                assertThat(e.getLevel()).isEqualTo(Level.WARN);
                assertThat(e.getFormattedMessage()).startsWith("UNRESTRICTED: no policy is loaded")
                        .contains("any agent may grant itself any operation on any route");
            });
        }
    }

    private static HttpResponse<String> startTask(ProxyServer server) throws Exception {
        return agent.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.port()
                        + "/_toolgate/v1/tasks")).timeout(Duration.ofSeconds(10))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(GRANT)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The sidecar builder's log lines while the returned appender is open. */
    private static Captured capture() {
        Logger logger = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(SidecarBuilder.class);
        Captured logs = new Captured(logger);
        logs.start();
        logger.addAppender(logs);
        return logs;
    }

    private static final class Captured extends ListAppender<ILoggingEvent> implements AutoCloseable {
        private final Logger logger;

        Captured(Logger logger) {
            this.logger = logger;
        }

        @Override
        public void close() {
            logger.detachAppender(this);
            stop();
        }
    }
}
