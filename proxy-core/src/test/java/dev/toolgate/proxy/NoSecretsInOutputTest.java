package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.audit.AuditRecord;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.config.CredentialConfig;
import dev.toolgate.config.RouteAuditConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Tokens, credentials and {@code Authorization} values never appear anywhere, nor do the secrets and e-mail
 * addresses inside captured arguments: calls through the real sidecar with a task token, an injected static
 * credential, an agent-sent {@code Authorization} header and captured arguments holding a secret and an e-mail
 * address; then everything the sidecar put out is scanned: the audit file, standard output (the audit's stdout
 * copy) and standard error (the diagnostic log, at TRACE for the sidecar's loggers), the live tail the control
 * API's Tail streams from, the trace spans, and the metrics.
 */
class NoSecretsInOutputTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CREDENTIAL = "upstream-cred-7QpW3nZx";
    static final String AGENT_AUTHORIZATION = "Bearer agent-sent-AUTH-value-55Kd";
    static final String ARG_SECRET = "hunter2-SECRET-9x";
    static final String ARG_EMAIL = "jane.roe@example.com";
    static final String ARG_GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
    static final String FAKE_TOKEN = "tg1.NOT-A-REAL-TOKEN-but-secret-anyway-1234567890ab";

    @TempDir
    Path dir;

    @Test
    void noTokenCredentialAuthorizationValueOrCapturedSecretAppearsInAnyOutput() throws Exception {
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ch.qos.logback.classic.Logger sidecarLogs = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(
                "dev.toolgate");
        Level level = sidecarLogs.getLevel();
        System.setOut(new PrintStream(new Tee(stdout, out), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new Tee(stderr, err), true, StandardCharsets.UTF_8));
        sidecarLogs.setLevel(Level.TRACE);
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        List<String> tail = new CopyOnWriteArrayList<>();
        String token;
        String spanText;
        Path auditFile = dir.resolve("audit").resolve("audit.jsonl");
        ProxyMetrics metrics = ProxyMetrics.create();
        TestPki pki = TestPki.create(dir);
        TestUpstream upstream = TestUpstream.start();
        try (SdkTracerProvider tracing = SdkTracerProvider.builder()
                .addSpanProcessor(SimpleSpanProcessor.create(spans)).build()) {
            Path secretFile = Files.writeString(dir.resolve("upstream.key"), CREDENTIAL + "\n");
            CredentialConfig credential = CredentialConfig.staticFromFile(null, "Bearer ", secretFile);
            List<RouteConfig> routes = List.of(
                    new RouteConfig("weather", "/api/weather", null, Protocol.HTTP,
                            new UpstreamConfig(URI.create(upstream.url()), null, null), null, null, credential),
                    new RouteConfig("tools-mcp", "/mcp/tools", null, Protocol.MCP,
                            new UpstreamConfig(URI.create(upstream.url() + "/mcp"), null, null), null, null,
                            credential, new RouteAuditConfig(List.of("repo", "query", "note"), null)));
            SidecarConfig config = Sidecar.config(routes)
                    .withAudit(new AuditConfig(auditFile, 1000, Duration.ofSeconds(5), null, true));
            AuditTrail audit = AuditTrail.open(config.audit()); // after System.out was replaced: its stdout copy
            audit.subscribeRecords((AuditRecord r, String line) -> {
                tail.add(line);
                tail.add(r.toString());
            });
            TaskRegistry tasks = Sidecar.tasks(config, audit, Clock.systemUTC());
            OpenTelemetrySdk otel = OpenTelemetrySdk.builder().setTracerProvider(tracing).build();
            try (ProxyServer proxy = Sidecar.builder(pki, config).audit(audit).tasks(tasks).metrics(metrics)
                    .spans(CallSpans.of(otel)).build()) {
                token = tasks.start(TestPki.AGENT, new StartRequest(null, "secrets scan", null, List.of(
                        new GrantRequest("weather", List.of("* /**"), null, null, null),
                        new GrantRequest("tools-mcp", List.of("mcp:tools/call:search_issues"), null, null, null))))
                        .token();
                HttpClient agent = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
                String arguments = "{\"repo\":\"acme/api\",\"query\":\"mail " + ARG_EMAIL + " password="
                        + ARG_SECRET + "\",\"note\":\"use " + ARG_GITHUB_TOKEN + "\",\"body\":\"not captured\"}";
                // Allowed MCP call with captured arguments, the agent's own Authorization header and the token.
                HttpResponse<String> allowed = mcp(agent, proxy, token, "search_issues", arguments);
                assertThat(allowed.statusCode()).as(allowed.body()).isEqualTo(200);
                // The same arguments refused (a tool the task holds no grant for): the decision record has them.
                HttpResponse<String> denied = mcp(agent, proxy, token, "delete_repo", arguments);
                assertThat(JSON.readTree(denied.body()).at("/error/data/code").asText()).isEqualTo("DENY_NO_GRANT");
                // An HTTP call with the credential injected, and one on a token the sidecar does not know.
                assertThat(http(agent, proxy, token).statusCode()).isEqualTo(200);
                assertThat(http(agent, proxy, FAKE_TOKEN).statusCode()).isEqualTo(403);

                // The credential was in play: the upstream got it, and never the agent's Authorization value.
                assertThat(upstream.requests).hasSize(2).allSatisfy(s -> assertThat(s.headers().get("authorization"))
                        .isEqualTo("Bearer " + CREDENTIAL));

                AuditRecords.awaitWritten(audit);
                JsonNode decision = JSON.readTree(Files.readAllLines(auditFile).stream()
                        .filter(l -> l.contains("\"operation\":\"mcp:tools/call:search_issues\"")
                                && l.contains("\"phase\":\"decision\""))
                        .findFirst().orElseThrow());
                assertThat(decision.path("args_digest").asText())
                        .isEqualTo(ArgumentCapture.digest(JSON.readTree(arguments)));
                JsonNode args = decision.path("args");
                assertThat(args.path("repo").asText()).isEqualTo("acme/api");
                assertThat(args.path("query").asText()).isEqualTo("mail [REDACTED:email] password=[REDACTED]");
                assertThat(args.path("note").asText()).isEqualTo("use [REDACTED:api-key]");
                assertThat(args.has("body")).as("only the listed arguments are captured").isFalse();
            } finally {
                audit.close();
            }
            // Read before the provider closes (closing the exporter clears it).
            spanText = spans.getFinishedSpanItems().stream().map(SpanData::toString)
                    .collect(Collectors.joining("\n"));
        } finally {
            sidecarLogs.setLevel(level);
            System.setOut(stdout);
            System.setErr(stderr);
            upstream.close();
        }

        String auditText = Files.readString(auditFile);
        String stdoutText = out.toString(StandardCharsets.UTF_8);
        String stderrText = err.toString(StandardCharsets.UTF_8);
        String tailText = String.join("\n", tail);
        String metricsText = metrics.scrape();
        // The scan is not vacuous: each output holds what it should.
        assertThat(stdoutText).contains(auditText.lines().findFirst().orElseThrow());
        assertThat(stderrText).contains("connected over"); // a TRACE/DEBUG line of the data plane
        assertThat(tailText).contains("mcp:tools/call:delete_repo").contains("[REDACTED:email]");
        assertThat(spanText).contains("toolgate.task_id");
        assertThat(metricsText).contains("toolgate_calls_total");
        List<String> secrets = List.of(token, token.substring("tg1.".length()), CREDENTIAL, AGENT_AUTHORIZATION,
                AGENT_AUTHORIZATION.substring("Bearer ".length()), ARG_SECRET, ARG_EMAIL, ARG_GITHUB_TOKEN,
                FAKE_TOKEN, FAKE_TOKEN.substring("tg1.".length()));
        for (String secret : secrets) {
            assertThat(auditText).as("audit file").doesNotContain(secret);
            assertThat(stdoutText).as("stdout").doesNotContain(secret);
            assertThat(stderrText).as("stderr / diagnostic log").doesNotContain(secret);
            assertThat(tailText).as("live tail").doesNotContain(secret);
            assertThat(spanText).as("spans").doesNotContain(secret);
            assertThat(metricsText).as("metrics").doesNotContain(secret);
        }
    }

    private static HttpResponse<String> mcp(HttpClient agent, ProxyServer proxy, String token, String tool,
                                            String arguments) throws Exception {
        String body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool
                + "\",\"arguments\":" + arguments + "}}";
        return agent.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/mcp/tools"))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token)
                .header("authorization", AGENT_AUTHORIZATION)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> http(HttpClient agent, ProxyServer proxy, String token) throws Exception {
        return agent.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port()
                        + "/api/weather/v1/forecast")).timeout(Duration.ofSeconds(10))
                .header("toolgate-task", token).header("authorization", AGENT_AUTHORIZATION).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Writes to the original stream and keeps a copy. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final ByteArrayOutputStream b;

        Tee(OutputStream a, ByteArrayOutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public synchronized void write(int c) {
            b.write(c);
            try {
                a.write(c);
            } catch (java.io.IOException ignored) {
                // the copy is what the test reads
            }
        }

        @Override
        public synchronized void write(byte[] buf, int off, int len) {
            b.write(buf, off, len);
            try {
                a.write(buf, off, len);
            } catch (java.io.IOException ignored) {
                // the copy is what the test reads
            }
        }
    }
}
