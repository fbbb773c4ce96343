package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.RawHttp2Client;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Request headers that would make a backend run something other than what the grant named, or trust a caller the
 * sidecar never verified (issue 17, item 6), sent over real mTLS on HTTP/1.1 and HTTP/2 by a task that may do
 * anything: a refusal is then for the header alone, and a header wrongly let through reaches the recording upstream.
 * <ul>
 *   <li>method and path overrides ({@code X-HTTP-Method-Override}, {@code X-Original-URL}, ...): refused 400
 *       {@code DENY_MALFORMED}, the reason and the decision record naming the header, nothing forwarded;
 *   <li>identity assertions ({@code X-Forwarded-Client-Cert}, {@code Forwarded}, {@code X-Spiffe-Id}, ...): the
 *       call is allowed and audited as usual, the upstream never sees the header;
 *   <li>header names with {@code _} or outside RFC 9110's token grammar: refused 400 {@code DENY_MALFORMED}.
 * </ul>
 */
class BackendMeaningHeadersTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail trail;
    static ProxyServer proxy;
    static SSLContext http1Tls;
    static SslContext http2Tls;
    static EventLoopGroup clientGroup;
    static String token;

    /** The two agent protocols. */
    enum Via { HTTP1, HTTP2 }

    /** What the agent got: status and JSON body (null when the body is not JSON). */
    record Answer(int status, JsonNode json) {}

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        sink = new MemoryAuditSink();
        trail = AuditTrail.start(sink, null, 1000);
        proxy = Sidecar.builder(pki, Sidecar.config(List.of(Sidecar.route("x", "/api/x", upstream.url()))))
                .audit(trail).build();
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
        http1Tls = pki.jdkClient(TestPki.AGENT);
        http2Tls = RawHttp2Client.tls(pki, TestPki.AGENT);
        clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stop() {
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        proxy.close();
        trail.close();
        upstream.close();
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
        upstream.completed.clear();
    }

    static Stream<Arguments> overrides() {
        return both("X-HTTP-Method-Override: DELETE", "X-HTTP-Method: DELETE", "X-Method-Override: DELETE",
                "X-Original-Method: DELETE", "X-Original-URL: /private/keys", "X-Rewrite-URL: /private/keys",
                "X-Original-URI: /private/keys", "X-Forwarded-Method: DELETE", "X-Forwarded-Uri: /private/keys",
                "x-http-method-override: ");
    }

    @ParameterizedTest(name = "{0} via {1}")
    @MethodSource("overrides")
    void methodOrPathOverrideIsRefusedAndAudited(String header, Via via) throws Exception {
        int mark = sink.lines.size();
        Answer a = send(via, "GET", "/api/x/items", header);
        String name = header.substring(0, header.indexOf(':')).toLowerCase(Locale.ROOT);
        assertThat(a.status()).as("status").isEqualTo(400);
        assertThat(a.json().path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(a.json().path("reason").asText()).contains(name);
        JsonNode rec = decisionSince(mark);
        assertThat(rec.path("decision").asText()).isEqualTo("deny");
        assertThat(rec.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(rec.path("reason").asText()).contains(name);
        assertThat(rec.path("decision_id").asText()).isEqualTo(a.json().path("decision_id").asText());
        assertThat(upstream.requests).as("requests that reached the upstream").isEmpty();
    }

    static Stream<Arguments> identities() {
        return both("X-Forwarded-Client-Cert: By=spiffe://toolgate.test/admin;URI=spiffe://toolgate.test/admin",
                "Forwarded: for=10.0.0.1;proto=https", "X-Forwarded-For: 10.0.0.1", "X-Forwarded-Host: admin.internal",
                "X-Forwarded-Proto: https", "X-Forwarded-Port: 443", "X-Real-IP: 10.0.0.1",
                "X-Spiffe-Id: spiffe://toolgate.test/admin", "X-Client-Cert: MIIB", "Client-Cert: :MIIB:",
                "X-SSL-Client-Cert: MIIB", "True-Client-IP: 10.0.0.1");
    }

    @ParameterizedTest(name = "{0} via {1}")
    @MethodSource("identities")
    void identityAssertionIsStrippedAndTheCallAuditedAsUsual(String header, Via via) throws Exception {
        int mark = sink.lines.size();
        Answer a = send(via, "GET", "/api/x/items", header, "X-Custom: kept");
        String name = header.substring(0, header.indexOf(':'));
        assertThat(a.status()).as("status").isEqualTo(200);
        JsonNode rec = decisionSince(mark);
        assertThat(rec.path("decision").asText()).isEqualTo("allow");
        assertThat(rec.path("code").asText()).isEqualTo("ALLOW");
        assertThat(rec.path("operation").asText()).isEqualTo("GET /api/x/items");
        assertThat(upstream.requests).singleElement().satisfies(seen -> {
            assertThat(seen.headers().contains(name)).as("%s at the upstream", name).isFalse();
            assertThat(seen.headers().get("x-custom")).as("an ordinary header").isEqualTo("kept");
        });
    }

    static Stream<Arguments> badNames() {
        return Stream.of(
                Arguments.of("Transfer_Encoding: chunked", Via.HTTP1, "underscore"),
                Arguments.of("X_Forwarded_For: 10.0.0.1", Via.HTTP1, "underscore"),
                Arguments.of("X_HTTP_Method_Override: DELETE", Via.HTTP1, "underscore"),
                Arguments.of("transfer_encoding: chunked", Via.HTTP2, "underscore"),
                Arguments.of("x_forwarded_for: 10.0.0.1", Via.HTTP2, "underscore"),
                Arguments.of("x_http_method_override: DELETE", Via.HTTP2, "underscore"));
    }

    @ParameterizedTest(name = "{0} via {1}")
    @MethodSource("badNames")
    void headerNameOutsideTheTokenGrammarIsRefused(String header, Via via, String reason) throws Exception {
        int mark = sink.lines.size();
        Answer a = send(via, "GET", "/api/x/items", header);
        assertThat(a.status()).as("status").isEqualTo(400);
        assertThat(a.json().path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(a.json().path("reason").asText()).contains(header.substring(0, header.indexOf(':')))
                .contains(reason);
        JsonNode rec = decisionSince(mark);
        assertThat(rec.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(rec.path("reason").asText()).contains(reason);
        assertThat(upstream.requests).as("requests that reached the upstream").isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nonTokens")
    void http1HeaderNameWithASeparatorIsRefused(String line) throws Exception {
        Answer a = send(Via.HTTP1, "GET", "/api/x/items", line);
        assertThat(a.status()).as("status").isEqualTo(400);
        assertThat(upstream.requests).as("requests that reached the upstream").isEmpty();
    }

    static Stream<String> nonTokens() {
        return Stream.of("X(a): 1", "X@a: 1", "X/a: 1", "X{a}: 1");
    }

    private static Stream<Arguments> both(String... headers) {
        List<Arguments> out = new ArrayList<>();
        for (String h : headers) {
            for (Via via : Via.values()) {
                out.add(Arguments.of(h, via));
            }
        }
        return out.stream();
    }

    /** Sends one request with the task token and {@code headers} ("Name: value"); returns the answer. */
    private static Answer send(Via via, String method, String path, String... headers) throws Exception {
        if (via == Via.HTTP1) {
            StringBuilder raw = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: sidecar\r\n"
                    + "toolgate-task: " + token + "\r\nConnection: close\r\n");
            for (String h : headers) {
                raw.append(h).append("\r\n");
            }
            try (RawHttpClient c = new RawHttpClient(http1Tls, proxy.port())) {
                RawHttpClient.Response res = c.exchange(raw.append("\r\n").toString());
                return new Answer(res.status(), json(res.body()));
            }
        }
        Http2Headers h = RawHttp2Client.request(method, path).add("toolgate-task", token);
        for (String line : headers) {
            int colon = line.indexOf(':');
            h.add(line.substring(0, colon).toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        try (RawHttp2Client c = RawHttp2Client.connect(http2Tls, clientGroup, proxy.port())) {
            RawHttp2Client.Response res = c.exchange(h, null);
            return new Answer(res.status(), json(res.body()));
        }
    }

    private static JsonNode json(String body) {
        try {
            return body == null || body.isEmpty() ? JSON.nullNode() : JSON.readTree(body);
        } catch (Exception e) {
            return JSON.nullNode();
        }
    }

    /** The one decision record written after the sink held {@code mark} lines. */
    private static JsonNode decisionSince(int mark) throws Exception {
        List<JsonNode> all = AuditRecords.of(trail, sink).all();
        List<JsonNode> decisions = all.subList(mark, all.size()).stream()
                .filter(AuditRecords.field("phase", "decision")).toList();
        assertThat(decisions).as("decision records").hasSize(1);
        return decisions.get(0);
    }
}
