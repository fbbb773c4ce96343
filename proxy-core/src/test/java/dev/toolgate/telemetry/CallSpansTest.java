package dev.toolgate.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.testing.Await;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
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

/** One span per call, child of the agent's traceparent, and that span is the upstream's parent. */
class CallSpansTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String AGENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String AGENT_SPAN = "00f067aa0ba902b7";

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static InMemorySpanExporter spans = InMemorySpanExporter.create();
    static SdkTracerProvider tracerProvider;
    static MemoryAuditSink sink = new MemoryAuditSink();
    static AuditTrail trail;
    static ProxyServer proxy;
    static HttpClient client;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        tracerProvider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
        OpenTelemetrySdk otel = OpenTelemetrySdk.builder().setTracerProvider(tracerProvider).build();
        trail = AuditTrail.start(sink, null, 1000);
        proxy = Sidecar.builder(pki, Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())))).audit(trail).spans(CallSpans.of(otel)).build();
        client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
    }

    @AfterAll
    static void stop() {
        proxy.close();
        trail.close();
        upstream.close();
        tracerProvider.close();
    }

    @BeforeEach
    void clear() {
        spans.reset();
        upstream.requests.clear();
    }

    private HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token);
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static SpanData onlySpan() throws Exception {
        Await.until("a finished span", () -> !spans.getFinishedSpanItems().isEmpty());
        assertThat(spans.getFinishedSpanItems()).hasSize(1);
        return spans.getFinishedSpanItems().get(0);
    }

    @Test
    void theCallSpanIsAChildOfTheAgentsAndParentOfTheUpstreams() throws Exception {
        HttpResponse<String> res = get("/api/weather/v1/x", "traceparent", "00-" + AGENT_TRACE + "-" + AGENT_SPAN + "-01");
        assertThat(res.statusCode()).isEqualTo(200);
        SpanData span = onlySpan();
        assertThat(span.getTraceId()).isEqualTo(AGENT_TRACE);
        assertThat(span.getParentSpanId()).isEqualTo(AGENT_SPAN);
        assertThat(span.getKind()).isEqualTo(SpanKind.SERVER);
        assertThat(span.getName()).isEqualTo("GET weather");
        assertThat(span.getAttributes().get(AttributeKey.stringKey("toolgate.route"))).isEqualTo("weather");
        assertThat(span.getAttributes().get(AttributeKey.stringKey("toolgate.agent"))).isEqualTo(TestPki.AGENT.uri());
        assertThat(span.getAttributes().get(AttributeKey.stringKey("toolgate.operation")))
                .isEqualTo("GET /api/weather/v1/x");
        assertThat(span.getAttributes().get(AttributeKey.stringKey("toolgate.code"))).isEqualTo("ALLOW");
        assertThat(span.getAttributes().get(AttributeKey.stringKey("toolgate.task_id")))
                .isEqualTo(proxy.tasks().find(token).task().id());
        assertThat(span.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(200L);
        // The upstream's parent is this span, in the same trace.
        String upstreamTp = upstream.requests.get(0).headers().get("traceparent");
        assertThat(upstreamTp).isEqualTo("00-" + AGENT_TRACE + "-" + span.getSpanId() + "-01");
        // The audit records name the same trace and span.
        // The trail's writer thread hands records to the sink after they were accepted: wait for it.
        String line = Await.value("the decision record of span " + span.getSpanId(),
                () -> sink.lines.stream().filter(l -> l.contains(span.getSpanId())).findFirst());
        JsonNode decision = JSON.readTree(line);
        assertThat(decision.get("trace_id").asText()).isEqualTo(AGENT_TRACE);
        assertThat(decision.get("span_id").asText()).isEqualTo(span.getSpanId());
    }

    @Test
    void withoutAnAgentTraceTheSpanStartsOne() throws Exception {
        get("/api/weather/v1/y");
        SpanData span = onlySpan();
        assertThat(span.getParentSpanContext().isValid()).isFalse();
        assertThat(upstream.requests.get(0).headers().get("traceparent"))
                .isEqualTo("00-" + span.getTraceId() + "-" + span.getSpanId() + "-"
                        + span.getSpanContext().getTraceFlags().asHex());
    }

    @Test
    void aDeniedCallHasASpanWithItsCode() throws Exception {
        assertThat(get("/api/unknown").statusCode()).isEqualTo(404);
        SpanData span = onlySpan();
        assertThat(span.getAttributes().get(AttributeKey.stringKey("toolgate.decision"))).isEqualTo("deny");
        assertThat(span.getAttributes().get(AttributeKey.stringKey("toolgate.code"))).isEqualTo("DENY_POLICY");
    }
}
