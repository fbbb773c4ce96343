package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.LimitsConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.testing.Await;
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
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Request bodies checked before the head goes upstream (issue 17, item 8), over real mTLS to a recording upstream,
 * by a task that may do anything (a refusal is then for the body alone).
 * <ul>
 *   <li>held ({@code limits.maxCheckedBodyBytes}, default 64 KiB): a chunked HTTP/1.1 body that arrives with its
 *       head, and an HTTP/2 body with a declared {@code content-length} whatever its timing; a malformed one is
 *       refused {@code DENY_MALFORMED} (400, or RST_STREAM PROTOCOL_ERROR where HTTP/2's codec found it), audited by
 *       its decision record alone, and nothing at all reaches the upstream;
 *   <li>streamed (larger than the limit, or sent after a pause): the upstream may see the head and part of the
 *       body, never a complete request.
 * </ul>
 */
class CheckedBodyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long PROTOCOL_ERROR = Http2Error.PROTOCOL_ERROR.code();
    /** A complete HTTP/1.1 request, where a lenient reading would put it on the upstream connection. */
    private static final String SMUGGLED = "GET /api/x/smuggled HTTP/1.1\r\nHost: sidecar\r\n\r\n";
    /** The body limit of the sidecar that checks almost nothing first. */
    private static final int SMALL = 8;

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail trail;
    /** Default limits: bodies up to 64 KiB are checked first. */
    static ProxyServer proxy;
    /** {@code maxCheckedBodyBytes: 8}: nearly every body streams. */
    static ProxyServer small;
    static String token;
    static String smallToken;
    static SSLContext http1Tls;
    static SslContext http2Tls;
    static EventLoopGroup clientGroup;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        sink = new MemoryAuditSink();
        trail = AuditTrail.start(sink, null, 1000);
        RouteConfig mcp = new RouteConfig("m", "/mcp/m", null, Protocol.MCP,
                new UpstreamConfig(URI.create(upstream.url()), null, null), null, null);
        proxy = Sidecar.builder(pki, Sidecar.config(List.of(Sidecar.route("x", "/api/x", upstream.url()), mcp)))
                .audit(trail).build();
        small = Sidecar.builder(pki, Sidecar.config(List.of(Sidecar.route("x", "/api/x", upstream.url())))
                .withLimits(new LimitsConfig(null, null, null, null, null, null, null, null, null, SMALL)))
                .audit(trail).build();
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
        smallToken = Sidecar.taskForEverything(small, TestPki.AGENT);
        http1Tls = pki.jdkClient(TestPki.AGENT);
        http2Tls = RawHttp2Client.tls(pki, TestPki.AGENT);
        clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stop() {
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        proxy.close();
        small.close();
        trail.close();
        upstream.close();
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
        upstream.completed.clear();
        upstream.trailers.clear();
    }

    // ---- HTTP/1.1: a chunked body that came with its head ---------------------------------------------------

    static Stream<Named<String>> malformedChunked() {
        return Stream.of(
                Named.of("chunk size not hex", "zz\r\nhello\r\n0\r\n\r\n"),
                Named.of("chunk size with a 0x", "0x5\r\nhello\r\n0\r\n\r\n"),
                Named.of("chunk data not followed by CRLF", "5\r\nhelloXX\r\n0\r\n\r\n"),
                Named.of("chunk data followed by a bare LF", "5\r\nhello\n0\r\n\r\n"),
                Named.of("chunk extension with an unterminated quote", "5;a=\"b\r\nhello\r\n0\r\n\r\n"),
                Named.of("chunk extension with a control byte", "5;a=\u0001\r\nhello\r\n0\r\n\r\n"),
                Named.of("Connection trailer", "5\r\nhello\r\n0\r\nConnection: close\r\n\r\n"),
                Named.of("Host trailer", "5\r\nhello\r\n0\r\nHost: admin.internal\r\n\r\n"),
                Named.of("Authorization trailer", "5\r\nhello\r\n0\r\nAuthorization: Bearer agent\r\n\r\n"),
                Named.of("toolgate-task trailer", "5\r\nhello\r\n0\r\ntoolgate-task: tg1.x\r\n\r\n"),
                Named.of("X-Forwarded-For trailer", "5\r\nhello\r\n0\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n"),
                Named.of("smuggled request after the last chunk's CR", "5\r\nhello\r\n0\r" + SMUGGLED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedChunked")
    void malformedChunkedBodyIsRefusedBeforeTheHeadLeaves(String body) throws Exception {
        int mark = sink.lines.size();
        RawHttpClient.Response res;
        try (RawHttpClient c = new RawHttpClient(http1Tls, proxy.port())) {
            res = c.exchange(chunkedHead("/api/x/upload", token) + body);
        }
        assertThat(res.status()).as("status (%s)", res).isEqualTo(400);
        JsonNode answer = JSON.readTree(res.body());
        assertThat(answer.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(res.headers().get("connection")).isEqualToIgnoringCase("close");
        JsonNode rec = onlyDecisionSince(mark);
        assertThat(rec.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(rec.path("reason").asText()).contains("malformed request body");
        assertThat(rec.path("operation").asText()).isEqualTo("POST /api/x/upload");
        assertThat(rec.path("decision_id").asText()).isEqualTo(answer.path("decision_id").asText());
        settle();
        assertThat(upstream.requests).as("requests that reached the upstream").isEmpty();
    }

    @Test
    void wellFormedChunkedBodyGoesWholeWithItsTrailers() throws Exception {
        RawHttpClient.Response res;
        try (RawHttpClient c = new RawHttpClient(http1Tls, proxy.port())) {
            res = c.exchange(chunkedHead("/api/x/upload", token) + "5\r\nhello\r\n6\r\n world\r\n0\r\n"
                    + "X-Checksum: 1\r\n\r\n");
        }
        assertThat(res.status()).as("status (%s)", res).isEqualTo(200);
        assertThat(JSON.readTree(res.body()).get("bodyBytes").asInt()).isEqualTo(11);
        assertThat(upstream.completed).singleElement()
                .satisfies(r -> assertThat(r.headers().get("transfer-encoding")).isEqualToIgnoringCase("chunked"));
        assertThat(upstream.trailers).singleElement().satisfies(t -> assertThat(t.get("x-checksum")).isEqualTo("1"));
    }

    /** A body sent after a pause streams: a malformed chunk then cuts the request, it never completes upstream. */
    @Test
    void pausedChunkedBodyStreamsAndAMalformedChunkCutsIt() throws Exception {
        int mark = sink.lines.size();
        try (RawHttpClient c = new RawHttpClient(http1Tls, proxy.port())) {
            c.send(chunkedHead("/api/x/upload", token) + "5\r\nhello\r\n");
            Await.until("the head reached the upstream", () -> upstream.requests.size() == 1);
            c.send("zz\r\n" + SMUGGLED);
            assertRefusedOrCut(c);
        }
        settle();
        assertNeverCompletedUpstream();
        List<JsonNode> recs = recordsSince(mark);
        assertThat(recs.get(0).path("code").asText()).as("decision record").isEqualTo("ALLOW");
        JsonNode outcome = AuditRecords.of(trail, sink).awaitLast("the outcome record",
                r -> r.path("phase").asText().equals("outcome")
                        && r.path("decision_id").asText().equals(recs.get(0).path("decision_id").asText()));
        assertThat(outcome.path("outcome").asText()).isNotEqualTo("completed");
    }

    /** Larger than the limit: streamed at once; a malformed chunk after it cuts the request upstream. */
    @Test
    void chunkedBodyOverTheLimitStreamsAndAMalformedChunkCutsIt() throws Exception {
        try (RawHttpClient c = new RawHttpClient(http1Tls, small.port())) {
            c.send(chunkedHead("/api/x/upload", smallToken) + "10\r\n0123456789abcdef\r\nzz\r\n" + SMUGGLED);
            assertRefusedOrCut(c);
        }
        settle();
        assertNeverCompletedUpstream();
    }

    @Test
    void chunkedBodyOverTheLimitStillArrivesWhole() throws Exception {
        RawHttpClient.Response res;
        try (RawHttpClient c = new RawHttpClient(http1Tls, small.port())) {
            res = c.exchange(chunkedHead("/api/x/upload", smallToken) + "10\r\n0123456789abcdef\r\n"
                    + "4\r\nmore\r\n0\r\n\r\n");
        }
        assertThat(res.status()).as("status (%s)", res).isEqualTo(200);
        assertThat(JSON.readTree(res.body()).get("bodyBytes").asInt()).isEqualTo(20);
    }

    // ---- HTTP/2: a declared content-length is held whole, whatever the timing --------------------------------

    /** {@code content-length: 0}, then (after a pause) a DATA frame: the head never left, the stream is reset. */
    @Test
    void http2DataAfterDeclaredZeroIsRefusedAndNothingReachesTheUpstream() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = RawHttp2Client.connect(http2Tls, clientGroup, proxy.port())) {
            RawHttp2Client.Stream s = client.open();
            s.headers(post("/api/x/upload", token).add("content-length", "0"), false);
            Thread.sleep(300); // a head that would be forwarded alone has had the time to reach the upstream
            assertThat(upstream.requests).as("requests at the upstream before the body").isEmpty();
            s.data(SMUGGLED, true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
            assertThat(res.status()).isZero();
        }
        assertRefusedAsMalformed(mark, "content-length");
    }

    static Stream<Named<String[]>> http2Contradictions() {
        return Stream.of(
                Named.of("content-length 10, 5 bytes, END_STREAM", new String[] {"10", "hello", null}),
                Named.of("content-length 5, 5 bytes, more DATA", new String[] {"5", "hello", SMUGGLED}),
                Named.of("content-length 10, 5 bytes, trailers", new String[] {"10", "hello", "trailers"}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("http2Contradictions")
    void http2BodyAgainstItsDeclaredLengthIsRefusedAndNothingReachesTheUpstream(String[] c) throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = RawHttp2Client.connect(http2Tls, clientGroup, proxy.port())) {
            RawHttp2Client.Stream s = client.open();
            s.headers(post("/api/x/upload", token).add("content-length", c[0]), false).data(c[1], c[2] == null);
            if ("trailers".equals(c[2])) {
                s.headers(RawHttp2Client.headers().add("x-checksum", "1"), true);
            } else if (c[2] != null) {
                s.data(c[2], true);
            }
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
            assertThat(res.status()).isZero();
        }
        assertRefusedAsMalformed(mark, "content-length");
    }

    /** An MCP body is read before it is judged; one the codec finds malformed is now audited too. */
    @Test
    void http2McpBodyAgainstItsDeclaredLengthIsRefusedAndAudited() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = RawHttp2Client.connect(http2Tls, clientGroup, proxy.port())) {
            RawHttp2Client.Stream s = client.open();
            s.headers(post("/mcp/m", token).add("content-type", "application/json")
                    .add("accept", "application/json, text/event-stream").add("content-length", "100"), false)
                    .data("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
        }
        assertRefusedAsMalformed(mark, "content-length");
    }

    @Test
    void http2TrailerThatMustNotCrossIsRefusedBeforeTheHeadLeaves() throws Exception {
        int mark = sink.lines.size();
        RawHttp2Client.Response res;
        try (RawHttp2Client client = RawHttp2Client.connect(http2Tls, clientGroup, proxy.port())) {
            RawHttp2Client.Stream s = client.open();
            s.headers(post("/api/x/upload", token).add("content-length", "5"), false).data("hello", false);
            s.headers(RawHttp2Client.headers().add("authorization", "Bearer agent-token"), true);
            res = s.response();
        }
        assertThat(res.status()).as("status (%s)", res).isEqualTo(400);
        assertThat(JSON.readTree(res.body()).path("code").asText()).isEqualTo("DENY_MALFORMED");
        JsonNode rec = onlyDecisionSince(mark);
        assertThat(rec.path("reason").asText()).contains("authorization");
        settle();
        assertThat(upstream.requests).as("requests that reached the upstream").isEmpty();
    }

    @Test
    void http2DeclaredBodyArrivingLaterStillGoesWhole() throws Exception {
        RawHttp2Client.Response res;
        try (RawHttp2Client client = RawHttp2Client.connect(http2Tls, clientGroup, proxy.port())) {
            RawHttp2Client.Stream s = client.open();
            s.headers(post("/api/x/upload", token).add("content-length", "11"), false).data("hello", false);
            Thread.sleep(100);
            s.data(" world", true);
            res = s.response();
        }
        assertThat(res.status()).as("status (%s)", res).isEqualTo(200);
        assertThat(JSON.readTree(res.body()).get("bodyBytes").asInt()).isEqualTo(11);
        assertThat(upstream.completed).singleElement()
                .satisfies(r -> assertThat(r.headers().get("content-length")).isEqualTo("11"));
    }

    /**
     * Declared larger than the limit: streamed. The part that reaches the declared length waits for the stream's
     * end, so DATA beyond it is refused before the upstream holds a complete request.
     */
    @Test
    void http2StreamedBodyNeverCompletesUpstreamBeforeItsEnd() throws Exception {
        try (RawHttp2Client client = RawHttp2Client.connect(http2Tls, clientGroup, small.port())) {
            RawHttp2Client.Stream s = client.open();
            s.headers(post("/api/x/upload", smallToken).add("content-length", "16"), false)
                    .data("0123456789abcdef", false);
            Await.until("the head reached the upstream", () -> upstream.requests.size() == 1);
            s.data("", false); // an empty DATA frame is not the end either
            Thread.sleep(200); // the declared bytes would now have reached the upstream, were they sent
            assertThat(upstream.completed).as("requests the upstream received in full").isEmpty();
            s.data(SMUGGLED, true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
        }
        settle();
        assertNeverCompletedUpstream();
    }

    @Test
    void http2StreamedBodyCompletesWithItsEnd() throws Exception {
        RawHttp2Client.Response res;
        try (RawHttp2Client client = RawHttp2Client.connect(http2Tls, clientGroup, small.port())) {
            RawHttp2Client.Stream s = client.open();
            s.headers(post("/api/x/upload", smallToken).add("content-length", "16"), false)
                    .data("0123456789abcdef", false);
            Thread.sleep(100);
            s.data("", true);
            res = s.response();
        }
        assertThat(res.status()).as("status (%s)", res).isEqualTo(200);
        assertThat(JSON.readTree(res.body()).get("bodyBytes").asInt()).isEqualTo(16);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static String chunkedHead(String path, String task) {
        return "POST " + path + " HTTP/1.1\r\nHost: sidecar\r\ntoolgate-task: " + task
                + "\r\nTransfer-Encoding: chunked\r\n\r\n";
    }

    private static Http2Headers post(String path, String task) {
        return RawHttp2Client.request("POST", path).add("toolgate-task", task);
    }

    /** A streamed body broke after the head went: the agent gets a 400, or the connection is cut. */
    private static void assertRefusedOrCut(RawHttpClient c) throws IOException {
        try {
            RawHttpClient.Response res = c.read();
            assertThat(res.status()).as("status (%s)", res).isEqualTo(400);
        } catch (IOException closed) {
            // the connection was cut
        }
    }

    private static void assertNeverCompletedUpstream() {
        assertThat(upstream.requests).as("requests that reached the upstream").hasSizeLessThanOrEqualTo(1)
                .noneMatch(r -> r.uri().contains("smuggled"));
        assertThat(upstream.completed).as("requests the upstream received in full").isEmpty();
    }

    /** The one record of a refused call: its decision, {@code DENY_MALFORMED}; nothing reached the upstream. */
    private static void assertRefusedAsMalformed(int mark, String reasonPart) throws Exception {
        Await.until("the decision record", () -> !recordsSince(mark).isEmpty());
        JsonNode rec = onlyDecisionSince(mark);
        assertThat(rec.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(rec.path("reason").asText()).containsIgnoringCase(reasonPart);
        settle();
        assertThat(upstream.requests).as("requests that reached the upstream").isEmpty();
    }

    private static List<JsonNode> recordsSince(int mark) throws Exception {
        List<JsonNode> all = AuditRecords.of(trail, sink).all();
        return all.subList(mark, all.size()).stream().filter(r -> r.has("decision_id")).toList();
    }

    /** The records written since {@code mark}: exactly one, a decision record. */
    private static JsonNode onlyDecisionSince(int mark) throws Exception {
        List<JsonNode> recs = recordsSince(mark);
        assertThat(recs).as("audit records").extracting(r -> r.path("phase").asText()).containsExactly("decision");
        return recs.get(0);
    }

    /** Only time passing can show that nothing reaches the upstream. */
    private static void settle() throws InterruptedException {
        Thread.sleep(150);
    }
}
