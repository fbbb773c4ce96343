package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.LimitsConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.RawHttp2Client;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile HTTP/2 input from a client that validates nothing ({@link RawHttp2Client}), sent over a real mTLS
 * connection to a sidecar that forwards to an HTTP/1.1 upstream: the HTTP/2 to HTTP/1.1 downgrade is where
 * request smuggling lives (CVE-2021-21295/21409: {@code content-length} against the DATA frames; connection-specific
 * fields; CR/LF in values; pseudo-header tricks). For each input the test checks what the agent sees (a JSON
 * answer, an RST_STREAM with PROTOCOL_ERROR, or a 431/GOAWAY), what reached the upstream (nothing, or at most a
 * head whose body never completes), the audit trail, and that the sidecar keeps serving other streams on the same
 * connection and on a new one.
 *
 * <p>Who refuses what, and what the audit trail shows:
 * <ul>
 *   <li>a malformed header block: Netty's HTTP/2 codec (header validation and the required pseudo-header check on)
 *       or, for what Netty's conversion to HTTP/1.x cannot represent, {@link Http2HeadGuard}, reset the stream
 *       before a request reaches {@link FrontendHandler}: one {@code DENY_MALFORMED} decision record of operation
 *       {@code HTTP/2 stream} naming the rule ({@link RefusalAudit}; a flood is summed up in counted records);
 *   <li>a well-formed head the sidecar refuses (target, method, declared length): a JSON answer and a decision
 *       record with code {@code DENY_MALFORMED} ({@code DENY_POLICY} for an unknown route);
 *   <li>a well-formed head whose streamed body then breaks the framing (DATA against {@code content-length}, a
 *       malformed trailer): the codec refuses the frame; the call was allowed ({@code ALLOW}) and its outcome
 *       record says {@code malformed_body}. (Bodies are streamed here: {@link #MAX_CHECKED_BODY}.)
 * </ul>
 *
 * <p>Every request carries the token of a task that may do anything ({@link #withTask}): a refusal is then never
 * for want of a task, and a hostile request the sidecar wrongly let through would be forwarded.
 */
class Http2HostileRequestsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_HEADERS = 1024;
    private static final long MAX_BODY = 1000;
    /**
     * Bodies declared larger than this stream, so the head goes upstream before the body is seen: the cases below
     * test that path (what {@code limits.maxCheckedBodyBytes} holds back is {@link CheckedBodyTest}'s).
     */
    private static final int MAX_CHECKED_BODY = 4;
    private static final long PROTOCOL_ERROR = Http2Error.PROTOCOL_ERROR.code();
    /** Netty's server default: more RST_STREAM frames than this in 30 s end the connection. */
    private static final int MAX_RST_FRAMES = 200;
    /** A complete HTTP/1.1 request, hidden where a lenient downgrade would put it on the upstream connection. */
    private static final String SMUGGLED = "GET /api/x/smuggled HTTP/1.1\r\nHost: sidecar\r\n\r\n";

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static MemoryAuditSink sink;
    static AuditTrail trail;
    static ProxyServer proxy;
    static SslContext clientTls;
    static EventLoopGroup clientGroup;
    private static final AtomicInteger followUps = new AtomicInteger();
    private static final AtomicInteger resetAgents = new AtomicInteger();
    /** The token of a task for {@link TestPki#AGENT} granting {@code * /**} on every route. */
    static String token;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        sink = new MemoryAuditSink();
        trail = AuditTrail.start(sink, null, 1000);
        proxy = Sidecar.builder(pki, Sidecar.config(List.of(Sidecar.route("x", "/api/x", upstream.url())))
                .withLimits(new LimitsConfig(256, MAX_HEADERS, MAX_BODY, null, null, null, null, null, null,
                        MAX_CHECKED_BODY))).audit(trail).build();
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
        clientTls = RawHttp2Client.tls(pki, TestPki.AGENT);
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
        upstream.trailers.clear();
    }

    // ---- heads reset before the data plane sees them -------------------------------------------------------

    /**
     * A request that must be reset with PROTOCOL_ERROR. {@code body}: null for END_STREAM on the HEADERS, else
     * one DATA frame follows; {@code endsConnection}: that DATA frame then costs the connection (see below).
     */
    record Reset(String name, Http2Headers headers, String body, boolean endsConnection, String rule) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Reset reset(String name, Http2Headers headers, String rule) {
        return new Reset(name, headers, null, false, rule);
    }

    private static Reset reset(String name, Http2Headers headers, String body, String rule) {
        return new Reset(name, headers, body, false, rule);
    }

    private static Http2Headers get(String path) {
        return RawHttp2Client.request("GET", path);
    }

    private static Http2Headers post(String path) {
        return RawHttp2Client.request("POST", path);
    }

    /**
     * A copy of {@code headers} with the task token appended last, so that pseudo-headers a case put after the
     * request's own stay where the case put them (before any regular field it did not add).
     */
    private static Http2Headers withTask(Http2Headers headers) {
        return RawHttp2Client.headers().add(headers).add("toolgate-task", token);
    }

    static Stream<Reset> resetBeforeTheDataPlane() {
        return Stream.of(
                // RFC 9113 8.2.1: field names are lower case; an upper-case one is malformed.
                reset("upper-case header name", get("/api/x/a").add("X-Role", "admin"), "invalid_header_name"),
                reset("upper-case letter inside a header name", get("/api/x/a").add("x-Role", "admin"),
                        "invalid_header_name"),
                reset("upper-case pseudo-header name", RawHttp2Client.headers().add(":method", "GET")
                        .add(":scheme", "https").add(":PATH", "/api/x/a"), "pseudo_header"),
                reset("header name with a space", get("/api/x/a").add("x role", "admin"), "invalid_header_name"),
                reset("header name with a colon inside", get("/api/x/a").add("x:role", "admin"), "invalid_header_name"),
                // RFC 9113 8.2.2: connection-specific fields are malformed in HTTP/2.
                reset("connection", get("/api/x/a").add("connection", "keep-alive"), "connection_specific_header"),
                reset("connection naming a header", get("/api/x/a").add("connection", "x-secret")
                        .add("x-secret", "1"), "connection_specific_header"),
                reset("keep-alive", get("/api/x/a").add("keep-alive", "timeout=5"), "connection_specific_header"),
                reset("proxy-connection", get("/api/x/a").add("proxy-connection", "keep-alive"),
                        "connection_specific_header"),
                reset("transfer-encoding chunked", post("/api/x/upload").add("transfer-encoding", "chunked"),
                        "connection_specific_header"),
                // Netty never creates a stream whose header block fails validation; a DATA frame for it is then a
                // frame on an idle stream, which RFC 9113 5.1 makes a connection error: GOAWAY PROTOCOL_ERROR.
                new Reset("transfer-encoding chunked, body follows", post("/api/x/upload")
                        .add("transfer-encoding", "chunked"), "0\r\n\r\n" + SMUGGLED, true,
                        "connection_specific_header"),
                reset("upgrade h2c", get("/api/x/a").add("upgrade", "h2c"), "connection_specific_header"),
                reset("te gzip", get("/api/x/a").add("te", "gzip"), "connection_specific_header"),
                reset("te 'trailers, gzip'", get("/api/x/a").add("te", "trailers, gzip"), "connection_specific_header"),
                // RFC 9113 8.3.1: :method, :scheme and :path are mandatory (outside CONNECT) and not empty.
                reset("missing :path", RawHttp2Client.headers().add(":method", "GET").add(":scheme", "https")
                        .add(":authority", "sidecar"), "pseudo_header"),
                reset("missing :method", RawHttp2Client.headers().add(":scheme", "https")
                        .add(":authority", "sidecar").add(":path", "/api/x/a"), "pseudo_header"),
                reset("missing :scheme", RawHttp2Client.headers().add(":method", "GET")
                        .add(":authority", "sidecar").add(":path", "/api/x/a"), "pseudo_header"),
                reset("empty :path", RawHttp2Client.headers().add(":method", "GET").add(":scheme", "https")
                        .add(":path", ""), "pseudo_header"),
                reset("no pseudo-headers at all", RawHttp2Client.headers().add("x-a", "1"), "pseudo_header"),
                reset("CONNECT without :authority", RawHttp2Client.headers().add(":method", "CONNECT"),
                        "pseudo_header"),
                // RFC 9113 8.3: pseudo-headers come first, once each, and only the defined request ones.
                reset("pseudo-header after a regular header", RawHttp2Client.headers().add(":method", "GET")
                        .add(":scheme", "https").add("x-a", "1").add(":path", "/api/x/a"), "pseudo_header"),
                reset("duplicate :path", get("/api/x/a").add(":path", "/admin"), "pseudo_header"),
                reset("duplicate :path before regular headers", RawHttp2Client.headers().add(":method", "GET")
                        .add(":scheme", "https").add(":path", "/api/x/a").add(":path", "/admin"), "pseudo_header"),
                reset("duplicate :method", RawHttp2Client.headers().add(":method", "GET").add(":method", "DELETE")
                        .add(":scheme", "https").add(":path", "/api/x/a"), "pseudo_header"),
                reset("duplicate :authority", get("/api/x/a").add(":authority", "evil"), "pseudo_header"),
                reset("response pseudo-header in a request", get("/api/x/a").add(":status", "200"), "pseudo_header"),
                reset("unknown pseudo-header", get("/api/x/a").add(":role", "admin"), "pseudo_header"),
                // RFC 9113 8.3.1: a host field that disagrees with :authority makes the request malformed.
                reset("host conflicting with :authority", get("/api/x/a").add("host", "evil"),
                        "host_authority_conflict"),
                // A CR LF that survived the downgrade would be a header injection on the HTTP/1.1 side.
                reset("CR LF in a header value", get("/api/x/a").add("x-a", "1\r\nx-injected: 1"),
                        "invalid_header_value"),
                reset("CR LF in :path", RawHttp2Client.headers().add(":method", "GET").add(":scheme", "https")
                        .add(":path", "/api/x/a HTTP/1.1\r\nx-injected: 1\r\nx: "), "invalid_header_value"),
                reset("NUL in a header value (Envoy CVE-2019-9900)", get("/api/x/a").add("x-role", "user\0admin"),
                        "invalid_header_value"),
                reset("bare LF in a header value", get("/api/x/a").add("x-a", "1\nx-injected: 1"),
                        "invalid_header_value"),
                reset("control character in :path", get("/api/x/a\u0001b"), "invalid_header_value"),
                // HTTP/2 allows SP in field values, but not in an HTTP/1.1 request line (Http2HeadGuard).
                reset(":path with a raw space", get("/api/x/a HTTP/1.1"), "request_target"),
                reset(":path with a raw space, body follows", post("/api/x/a b"), "hello", "request_target"),
                reset(":method with a space", RawHttp2Client.request("GET /api/x/smuggled HTTP/1.1", "/api/x/a"),
                        "method_not_token"),
                reset(":method with a space, body follows", RawHttp2Client.request("PO ST", "/api/x/a"), "x",
                        "method_not_token"),
                reset(":method with a separator", RawHttp2Client.request("GET;", "/api/x/a"), "method_not_token"),
                reset("CONNECT with a space in :authority", RawHttp2Client.headers().add(":method", "CONNECT")
                        .add(":authority", "evil:443 x"), "request_target"),
                // RFC 9113 8.1.1: a content-length the DATA frames cannot match makes the request malformed.
                reset("content-length with END_STREAM on the HEADERS", post("/api/x/upload")
                        .add("content-length", "5"), "content_length"),
                reset("two different content-lengths", post("/api/x/upload").add("content-length", "5")
                        .add("content-length", "6"), "content_length"),
                reset("content-length with a sign", post("/api/x/upload").add("content-length", "+5"),
                        "content_length"),
                reset("content-length not a number", post("/api/x/upload").add("content-length", "5a"),
                        "content_length"));
    }

    /**
     * Netty's codec (header validation and the required pseudo-header check on) rejects these header blocks
     * while decoding them, and {@link Http2HeadGuard} the ones Netty's conversion to HTTP/1.x would choke on;
     * either way before a request reaches {@link FrontendHandler}. The agent gets an RST_STREAM with
     * PROTOCOL_ERROR and no response, nothing reaches the upstream, and the reset has its audit record (no
     * exchange ever started, so {@link Http2ServerCodec}, {@link Http2HeadGuard} or {@link FrontendHandler} write
     * it through {@link RefusalAudit}): a {@code deny} decision, {@code DENY_MALFORMED}, protocol {@code http2},
     * the connection's agent and a reason naming the rule. Each case connects as its own agent, so its record is
     * the first of its key and written at once (not summed up with an earlier case's).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("resetBeforeTheDataPlane")
    void malformedHeadIsResetBeforeTheDataPlane(Reset c) throws Exception {
        int mark = sink.lines.size();
        SpiffeId agent = SpiffeId.parse("spiffe://toolgate.test/agents/h2-reset-" + resetAgents.incrementAndGet());
        try (RawHttp2Client client = RawHttp2Client.connect(RawHttp2Client.tls(pki, agent), clientGroup,
                proxy.port())) {
            RawHttp2Client.Response res = client.exchange(withTask(c.headers()), c.body());
            assertThat(res.status()).as("a response (%s)", res).isZero();
            assertThat(res.reset()).as("RST_STREAM error code (%s)", res).isEqualTo(PROTOCOL_ERROR);
            if (c.endsConnection()) {
                assertThat(client.awaitClosed(Duration.ofSeconds(5))).as("connection closed").isTrue();
                assertThat(client.goAway()).as("GOAWAY").isNotNull();
                assertThat(client.goAway().errorCode()).isEqualTo(PROTOCOL_ERROR);
            }
        }
        assertStillServing(null);
        assertThat(hostileRequests()).as("requests that reached the upstream").isEmpty();
        List<JsonNode> recs = AuditRecords.of(trail, sink).all().stream().skip(mark)
                .filter(r -> r.path("agent").asText().equals(agent.uri())).toList();
        JsonNode stream = recs.stream().filter(r -> r.path("operation").asText().equals("HTTP/2 stream"))
                .findFirst().orElseThrow(() -> new AssertionError("no HTTP/2 stream record in " + recs));
        assertThat(stream.path("phase").asText()).isEqualTo("decision");
        assertThat(stream.path("decision").asText()).isEqualTo("deny");
        assertThat(stream.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(stream.path("protocol").asText()).isEqualTo("http2");
        assertThat(stream.path("identity").asText()).isEqualTo("x509");
        assertThat(stream.path("count").asLong()).isEqualTo(1);
        assertThat(stream.path("reason").asText()).as("reason")
                .startsWith("HTTP/2 stream reset with PROTOCOL_ERROR before a request existed: malformed "
                        + c.rule());
        if (c.endsConnection()) {
            assertThat(recs).as("the GOAWAY's record").anySatisfy(r -> {
                assertThat(r.path("operation").asText()).isEqualTo("HTTP/2 connection");
                assertThat(r.path("code").asText()).isEqualTo("DENY_MALFORMED");
                assertThat(r.path("reason").asText()).startsWith("HTTP/2 connection ended with GOAWAY PROTOCOL_ERROR");
            });
        }
    }

    // ---- well-formed HTTP/2 the sidecar refuses itself (audited) ---------------------------------------------

    /** A request the sidecar answers with a JSON error and audits with {@code code}. */
    record Answered(String name, Http2Headers headers, int status, String error, String reason, String code) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Answered malformed(String name, Http2Headers headers, String reason) {
        return new Answered(name, headers, 400, "bad_request", reason, "DENY_MALFORMED");
    }

    static Stream<Answered> answered() {
        return Stream.of(
                malformed(":path '*'", RawHttp2Client.request("OPTIONS", "*"), "origin-form"),
                malformed(":path in absolute form", get("http://x/"), "origin-form"),
                malformed(":path in absolute form naming a route", get("http://evil/api/x/a"), "origin-form"),
                malformed(":path without a leading slash", get("api/x/a"), "origin-form"),
                malformed(":path with an encoded slash", get("/api/x/%2F"), "%2F"),
                malformed(":path with an encoded slash traversal", get("/api/x/%2F..%2Fadmin"), "%2F"),
                malformed(":path with an encoded backslash", get("/api/x/%5C"), "%5C"),
                malformed(":path with an encoded NUL", get("/api/x/%00"), "%00"),
                malformed(":path with a double encoding", get("/api/x/%252e%252e/"), "double"),
                malformed(":path with a non-ASCII character", get("/api/x/caf\u00e9"), "non-ASCII"),
                malformed("lower-case :method", RawHttp2Client.request("get", "/api/x/a"), "method"),
                new Answered("dot segments climbing out of the route", get("/api/x/../../admin"), 404, "no_route",
                        "/admin", "DENY_POLICY"),
                new Answered("encoded dot segments climbing out of the route", get("/api/x/%2e%2e/%2E%2E/admin"),
                        404, "no_route", "/admin", "DENY_POLICY"),
                new Answered("CONNECT", RawHttp2Client.headers().add(":method", "CONNECT")
                        .add(":authority", "evil:443"), 405, "method_not_allowed", "CONNECT", "DENY_MALFORMED"),
                new Answered("extended CONNECT", RawHttp2Client.request("CONNECT", "/api/x/ws")
                        .add(":protocol", "websocket"), 405, "method_not_allowed",
                        "CONNECT", "DENY_MALFORMED"),
                new Answered("TRACE", RawHttp2Client.request("TRACE", "/api/x/a"), 405, "method_not_allowed",
                        "TRACE", "DENY_MALFORMED"),
                new Answered("content-length over maxBodyBytes", post("/api/x/upload")
                        .add("content-length", String.valueOf(MAX_BODY + 1)), 413, "body_too_large", "1000 bytes",
                        "DENY_MALFORMED"),
                new Answered("huge content-length", post("/api/x/upload").add("content-length", "99999999999999999"),
                        413, "body_too_large", "1000 bytes", "DENY_MALFORMED"));
    }

    /**
     * The head is valid HTTP/2, so the data plane sees it and refuses it: a JSON answer naming its decision, a
     * decision record with the expected code and nothing forwarded. For the 413s the HEADERS do not end the
     * stream and no DATA follows (a mismatch with the declared length would be the codec's to reset first).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("answered")
    void refusedHeadIsAnsweredAndAudited(Answered c) throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(c.headers()), c.status() != 413);
            RawHttp2Client.Response res = s.response();
            assertThat(res.status()).as("status (%s)", res).isEqualTo(c.status());
            assertThat(res.headers().get("content-type")).hasToString("application/json");
            JsonNode body = JSON.readTree(res.body());
            assertThat(body.path("error").asText()).as("error").isEqualTo(c.error());
            assertThat(body.path("reason").asText()).as("reason").containsIgnoringCase(c.reason());
            assertStillServing(client);
            assertThat(hostileRequests()).as("requests that reached the upstream").isEmpty();

            List<JsonNode> recs = hostileRecordsSince(mark);
            assertThat(recs).as("audit records").singleElement().satisfies(r -> {
                assertThat(r.get("phase").asText()).isEqualTo("decision");
                assertThat(r.get("decision").asText()).isEqualTo("deny");
                assertThat(r.get("code").asText()).isEqualTo(c.code());
                assertThat(r.get("decision_id").asText()).isEqualTo(body.get("decision_id").asText());
                assertThat(r.get("agent").asText()).isEqualTo(TestPki.AGENT.uri());
            });
        }
    }

    // ---- content-length against the DATA frames (CVE-2021-21295) ------------------------------------------

    /** A valid head with {@code content-length}, then one DATA frame (END_STREAM) that contradicts it. */
    record Contradicted(String name, String contentLength, String data) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Contradicted> contradictedInOneFrame() {
        return Stream.of(
                new Contradicted("more DATA than content-length", "5", "hello" + SMUGGLED),
                new Contradicted("less DATA than content-length", "10", "hello"),
                new Contradicted("less DATA than content-length, none at all", "10", ""));
    }

    /**
     * The head is valid and reaches the data plane (it is allowed and audited); the DATA frame that contradicts
     * it is refused by the codec before it is delivered, the stream is reset with PROTOCOL_ERROR, and the call's
     * outcome record says why. The upstream never gets a complete request.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("contradictedInOneFrame")
    void dataContradictingContentLengthResetsTheStream(Contradicted c) throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Response res = client.exchange(withTask(post("/api/x/upload")
                    .add("content-length", c.contentLength())), c.data());
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
            assertThat(res.status()).as("a response (%s)", res).isZero();
            assertStillServing(client);
            assertBodyNeverCompletedUpstream();
        }
        assertAuditedAsMalformedBody(mark, "content-length");
    }

    /**
     * The head may go upstream (with its Content-Length) before the body contradicts it; the frame that does is
     * refused by the codec, the stream reset, and the upstream connection closed: the upstream's HTTP/1.1 body
     * never completes, so it never answers, and no smuggled request follows.
     */
    @Test
    void moreDataThanDeclaredAfterTheHeadWasForwardedNeverCompletesUpstream() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(post("/api/x/upload").add("content-length", "5")), false).data("hel", false);
            awaitTrue(() -> upstream.requests.size() == 1, "the head reached the upstream");
            s.data("lo" + SMUGGLED, true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
            assertThat(res.status()).as("a response (%s)", res).isZero();
            assertStillServing(client);
            assertBodyNeverCompletedUpstream();
        }
        assertAuditedAsMalformedBody(mark, "content-length");
    }

    @Test
    void lessDataThanDeclaredThenEndStreamNeverCompletesUpstream() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(post("/api/x/upload").add("content-length", "10")), false).data("hello", false);
            awaitTrue(() -> upstream.requests.size() == 1, "the head reached the upstream");
            s.data("", true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
            assertThat(res.status()).as("a response (%s)", res).isZero();
            assertStillServing(client);
            assertBodyNeverCompletedUpstream();
        }
        assertAuditedAsMalformedBody(mark, "content-length");
    }

    @Test
    void trailersBeforeTheDeclaredLengthNeverCompleteUpstream() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(post("/api/x/upload").add("content-length", "10")), false).data("hello", false);
            awaitTrue(() -> upstream.requests.size() == 1, "the head reached the upstream");
            s.headers(RawHttp2Client.headers().add("x-checksum", "1"), true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
            assertStillServing(client);
            assertBodyNeverCompletedUpstream();
        }
        assertAuditedAsMalformedBody(mark, "content-length");
    }

    static Stream<Contradicted> declaredLengthReachedFirst() {
        return Stream.of(
                new Contradicted("content-length 5, 'hello', then a request", "5", "hello"),
                new Contradicted("content-length 5, 'hel', 'lo', then a request", "5", "hel"));
    }

    /**
     * The declared bytes are all there before the contradiction can be seen (no END_STREAM yet): the part that
     * reached the declared length waits for the stream's end, so the upstream never holds a complete request. What
     * follows on the stream is refused by the codec and never reaches the upstream connection as a second request
     * (the upstream connection is closed, not reused). A declared {@code content-length: 0} is never streamed (its
     * head alone would be a complete request): {@link CheckedBodyTest}.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("declaredLengthReachedFirst")
    void dataAfterTheDeclaredLengthIsNeverForwarded(Contradicted c) throws Exception {
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(post("/api/x/upload").add("content-length", c.contentLength())), false);
            s.data(c.data(), false);
            awaitTrue(() -> upstream.requests.size() == 1, "the head reached the upstream");
            if (c.data().length() < 5) {
                s.data("hello".substring(c.data().length()), false);
            }
            Thread.sleep(200); // the declared bytes would now have reached the upstream, were they sent
            assertThat(hostileCompleted()).as("requests the upstream received in full").isEmpty();
            s.data(SMUGGLED, true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
            assertStillServing(client);
            assertThat(hostileRequests()).extracting(TestUpstream.Seen::uri).containsExactly("/upload");
            assertBodyNeverCompletedUpstream();
        }
    }

    /** Connection-specific fields are refused in trailers too, after the head and part of the body went up. */
    @Test
    void connectionSpecificTrailerResetsTheStreamAndNeverCompletesUpstream() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(post("/api/x/upload")), false).data("hello", false);
            awaitTrue(() -> upstream.requests.size() == 1, "the head reached the upstream");
            s.headers(RawHttp2Client.headers().add("transfer-encoding", "chunked"), true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
            assertStillServing(client);
            assertBodyNeverCompletedUpstream();
            assertThat(upstream.trailers).isEmpty();
        }
        assertAuditedAsMalformedBody(mark, "transfer-encoding");
    }

    /** A pseudo-header in trailers is malformed (RFC 9113 8.1): it must not become a trailer field upstream. */
    @Test
    void pseudoHeaderInTrailersResetsTheStreamAndNeverCompletesUpstream() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(post("/api/x/upload")), false).data("hello", false);
            awaitTrue(() -> upstream.requests.size() == 1, "the head reached the upstream");
            s.headers(RawHttp2Client.headers().add(":path", "/admin"), true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
            assertStillServing(client);
            assertBodyNeverCompletedUpstream();
            assertThat(upstream.trailers).isEmpty();
        }
        assertAuditedAsMalformedBody(mark, "pseudo-header");
    }

    /** Without a content-length the body is streamed; crossing maxBodyBytes cuts it off before it completes. */
    @Test
    void streamedBodyOverTheLimitIsCutOff() throws Exception {
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(post("/api/x/upload")), false).data("a".repeat(600), false);
            awaitTrue(() -> upstream.requests.size() == 1, "the head reached the upstream");
            s.data("a".repeat(600), true);
            RawHttp2Client.Response res = s.response();
            if (res.status() != 0) {
                assertThat(res.status()).isEqualTo(413);
                assertThat(JSON.readTree(res.body()).get("error").asText()).isEqualTo("body_too_large");
            } else {
                assertThat(res.wasReset()).as("reset (%s)", res).isTrue();
            }
            assertStillServing(client);
            assertBodyNeverCompletedUpstream();
        }
    }

    // ---- header list size ------------------------------------------------------------------------------------

    /**
     * Just over SETTINGS_MAX_HEADER_LIST_SIZE: Netty answers 431 itself before the stream exists (no exchange); the
     * refusal is audited all the same (rule {@code header_list_too_large}).
     */
    @Test
    void headerListOverTheLimitIs431() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            // The token's field counts too (RFC 7541 4.1: name, value and 32): x-big is shorter by as much, so the
            // list is as far over the limit as without it (much further would cost the connection).
            int tokenField = "toolgate-task".length() + token.length() + 32;
            RawHttp2Client.Response res = client.exchange(withTask(get("/api/x/a")
                    .add("x-big", "a".repeat(MAX_HEADERS - tokenField))), null);
            assertThat(res.status() == 431 || res.wasReset()).as("431 or reset (%s)", res).isTrue();
            assertThat(res.status()).isNotEqualTo(200);
            assertStillServing(client);
            assertThat(hostileRequests()).isEmpty();
        }
        // Another test's refusal of the same rule and agent may have opened a window: then it comes counted.
        JsonNode r = Await.value("the refusal's audit record", () -> AuditRecords.of(trail, sink).all().stream()
                .skip(mark).filter(n -> n.path("reason").asText().contains("malformed header_list_too_large"))
                .findFirst());
        assertThat(r.path("operation").asText()).isEqualTo("HTTP/2 stream");
        assertThat(r.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(r.path("agent").asText()).isEqualTo(TestPki.AGENT.uri());
    }

    /**
     * A flood of malformed heads (on several connections, each well under Netty's limit of resets it sends per
     * connection) cannot fill the disk: per rule and agent the first is written at once and the rest of each
     * second summed up in one record; the counts add up to every stream reset, in few records.
     */
    @Test
    void aFloodOfMalformedHeadsIsAggregated() throws Exception {
        SpiffeId flooder = SpiffeId.parse("spiffe://toolgate.test/agents/h2-flooder");
        SslContext tls = RawHttp2Client.tls(pki, flooder);
        int streams = 0;
        for (int c = 0; c < 3; c++) {
            try (RawHttp2Client client = RawHttp2Client.connect(tls, clientGroup, proxy.port())) {
                for (int i = 0; i < 40; i++) {
                    RawHttp2Client.Response res = client.exchange(get("/api/x/a").add("connection", "close"), null);
                    assertThat(res.reset()).as("RST_STREAM (%s)", res).isEqualTo(PROTOCOL_ERROR);
                    streams++;
                }
            }
        }
        int expected = streams;
        List<JsonNode> recs = Await.value("records standing for all " + expected + " resets", () -> {
            List<JsonNode> found = AuditRecords.of(trail, sink).all().stream()
                    .filter(n -> n.path("agent").asText().equals(flooder.uri())).toList();
            long sum = found.stream().mapToLong(n -> n.path("count").asLong()).sum();
            return sum >= expected ? java.util.Optional.of(found) : java.util.Optional.empty();
        });
        assertThat(recs.stream().mapToLong(n -> n.path("count").asLong()).sum()).isEqualTo(expected);
        assertThat(recs).as("records").hasSizeLessThan(10).allSatisfy(n -> {
            assertThat(n.path("operation").asText()).isEqualTo("HTTP/2 stream");
            assertThat(n.path("decision").asText()).isEqualTo("deny");
            assertThat(n.path("code").asText()).isEqualTo("DENY_MALFORMED");
            assertThat(n.path("protocol").asText()).isEqualTo("http2");
            assertThat(n.path("reason").asText()).contains("malformed connection_specific_header");
            assertThat(n.path("first_ts").asText()).isNotEmpty();
            assertThat(n.path("last_ts").asText()).isNotEmpty();
        });
        assertThat(recs).as("the first reset is written at once").anySatisfy(n ->
                assertThat(n.path("count").asLong()).isEqualTo(1));
        assertThat(recs).as("the rest summed up").anySatisfy(n ->
                assertThat(n.path("count").asLong()).isGreaterThan(1));
    }

    /** Far over the limit: a stream error or the connection goes away; either way nothing is forwarded. */
    @Test
    void headerListFarOverTheLimitIsRefused() throws Exception {
        try (RawHttp2Client client = connect()) {
            Http2Headers h = get("/api/x/a");
            for (int i = 0; i < 64; i++) {
                h.add("x-many-" + i, "0123456789012345678901234567890123456789");
            }
            RawHttp2Client.Response res = client.exchange(withTask(h), null);
            assertThat(res.status() == 431 || res.wasReset() || client.goAway() != null)
                    .as("431, reset or GOAWAY (%s)", res).isTrue();
            assertThat(res.status()).isNotEqualTo(200);
            assertStillServing(client);
            assertThat(hostileRequests()).isEmpty();
        }
    }

    // ---- trailers ------------------------------------------------------------------------------------------

    /** HTTP/2 trailers become HTTP/1.1 chunked trailers upstream; ordinary trailer fields go through. */
    @Test
    void ordinaryTrailersGoUpstream() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(post("/api/x/upload")), false).data("hello", false);
            s.headers(RawHttp2Client.headers().add("x-checksum", "1"), true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.status()).as("status (%s)", res).isEqualTo(200);
            assertThat(JSON.readTree(res.body()).get("bodyBytes").asInt()).isEqualTo(5);
        }
        // (a head another test's stream left in flight may still arrive: only this call's counts)
        assertThat(upstream.requests).filteredOn(r -> r.uri().equals("/upload")).singleElement().satisfies(r -> {
            assertThat(r.headers().get("transfer-encoding")).isEqualToIgnoringCase("chunked");
            assertThat(r.headers().contains("content-length")).isFalse();
        });
        assertThat(upstream.trailers).singleElement().satisfies(t -> assertThat(t.get("x-checksum")).isEqualTo("1"));
        awaitTrue(() -> sink.lines.stream().skip(mark).anyMatch(l -> l.contains("\"POST /api/x/upload\"")
                && l.contains("\"completed\"")), "the call's outcome record (the next test starts after it)");
    }

    static Stream<String> refusedTrailers() {
        return Stream.of("authorization", "toolgate-task", "content-length", "proxy-authorization",
                "x-forwarded-for", "x-toolgate-spiffe-id");
    }

    /**
     * A trailer field that must not cross (the agent's credentials, its task token, framing, identity) makes the
     * body malformed: the agent gets 400 and the upstream never a complete request, nor the field.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedTrailers")
    void trailerThatMustNotCrossIsRefusedAndNeverCompletesUpstream(String field) throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            RawHttp2Client.Stream s = client.open();
            s.headers(withTask(post("/api/x/upload")), false).data("hello", false);
            s.headers(RawHttp2Client.headers().add(field, "999"), true);
            RawHttp2Client.Response res = s.response();
            assertThat(res.status()).as("status (%s)", res).isEqualTo(400);
            assertThat(JSON.readTree(res.body()).get("reason").asText()).contains(field);
            assertStillServing(client);
            assertBodyNeverCompletedUpstream();
        }
        assertThat(upstream.trailers).isEmpty();
        List<JsonNode> recs = hostileRecordsSince(mark);
        assertThat(recs).as("audit records").extracting(r -> r.get("phase").asText())
                .containsExactly("decision", "outcome");
        assertThat(recs.get(0).get("code").asText()).as("the head was allowed and streamed").isEqualTo("ALLOW");
        assertThat(recs.get(1).get("outcome").asText()).isNotEqualTo("completed");
        assertThat(recs.get(1).get("reason").asText()).contains(field);
    }

    /**
     * The request headers themselves: credentials, the task token, Netty's {@code x-http2-*} conversion names and
     * {@code te} (legal in HTTP/2 only as {@code trailers}, hop-by-hop in HTTP/1.1) never go upstream; a
     * {@code host} equal to {@code :authority} is accepted and replaced by the upstream's.
     */
    @Test
    void credentialsAndConversionHeadersAreNotForwarded() throws Exception {
        try (RawHttp2Client client = connect()) {
            // The task token is the real one (the call is allowed on it), not appended by withTask a second time.
            RawHttp2Client.Response res = client.exchange(get("/api/x/h").add("authorization", "Bearer agent-token")
                    .add("toolgate-task", token).add("x-http2-scheme", "http")
                    .add("x-http2-stream-id", "99").add("host", "sidecar").add("te", "trailers")
                    .add("x-kept", "yes"), null);
            assertThat(res.status()).as("status (%s)", res).isEqualTo(200);
        }
        HttpHeaders seen = upstream.requests.get(0).headers();
        assertThat(seen.contains("authorization")).as("authorization").isFalse();
        assertThat(seen.contains("toolgate-task")).as("toolgate-task").isFalse();
        assertThat(seen.contains("te")).as("te").isFalse();
        assertThat(seen.names()).noneMatch(n -> n.toLowerCase(Locale.ROOT).startsWith("x-http2-"));
        assertThat(seen.getAll("host")).containsExactly("127.0.0.1:" + upstream.port());
        assertThat(seen.get("x-kept")).isEqualTo("yes");
    }

    // ---- other streams are unaffected ------------------------------------------------------------------------

    /**
     * A refused stream is refused alone: a valid request before it, one in flight while it is refused, and one
     * after it all complete on the same connection.
     */
    @Test
    void otherStreamsOnTheConnectionAreUnaffected() throws Exception {
        try (RawHttp2Client client = connect()) {
            assertThat(client.exchange(withTask(get("/api/x/before")), null).status()).isEqualTo(200);

            RawHttp2Client.Stream inFlight = client.open();
            inFlight.headers(withTask(post("/api/x/in-flight")), false).data("hel", false);
            awaitTrue(() -> upstream.requests.size() == 2, "the in-flight head reached the upstream");

            RawHttp2Client.Response refused = client.exchange(withTask(get("/api/x/a").add("connection", "close")),
                    null);
            assertThat(refused.reset()).isEqualTo(PROTOCOL_ERROR);
            RawHttp2Client.Response answered = client.exchange(withTask(get("/api/x/%2F")), null);
            assertThat(answered.status()).isEqualTo(400);
            RawHttp2Client.Stream overflow = client.open();
            overflow.headers(withTask(post("/api/x/overflow").add("content-length", "1")), false)
                    .data("too long", true);
            assertThat(overflow.response().reset()).isEqualTo(PROTOCOL_ERROR);

            inFlight.data("lo", true);
            RawHttp2Client.Response res = inFlight.response();
            assertThat(res.status()).isEqualTo(200);
            assertThat(JSON.readTree(res.body()).get("bodyBytes").asInt()).isEqualTo(5);

            assertThat(client.exchange(withTask(get("/api/x/after")), null).status()).isEqualTo(200);
            assertThat(client.goAway()).isNull();
        }
        // The overflowing stream's head may have gone up before its DATA was refused; its body never completed.
        assertThat(upstream.completed).extracting(TestUpstream.Seen::uri)
                .containsExactly("/before", "/in-flight", "/after");
        assertThat(upstream.requests).extracting(TestUpstream.Seen::uri)
                .isSubsetOf("/before", "/in-flight", "/after", "/overflow");
    }

    /**
     * Rapid reset (CVE-2023-44487): requests opened and cancelled at once, each costing the sidecar an exchange and
     * an upstream connection. Netty's decoder limits the RST_STREAM frames it accepts for open streams (more than
     * {@value #MAX_RST_FRAMES} in 30 s) and ends the connection with GOAWAY ENHANCE_YOUR_CALM; no cancelled
     * request completes upstream, and the sidecar serves new connections afterwards.
     */
    @Test
    void rapidResetEndsTheConnection() throws Exception {
        int mark = sink.lines.size();
        try (RawHttp2Client client = connect()) {
            // Exactly one over the limit, then quiet: a client still writing when the sidecar closes could have
            // the GOAWAY destroyed by the TCP reset its late bytes provoke.
            for (int i = 0; i <= MAX_RST_FRAMES; i++) {
                RawHttp2Client.Stream s;
                try {
                    s = client.open();
                } catch (IOException e) {
                    break; // the sidecar ended the connection between two streams
                }
                // No END_STREAM: the stream stays open on the sidecar (waiting for the upstream or the body).
                s.headers(withTask(post("/api/x/rapid-" + i)), false);
                s.reset(Http2Error.CANCEL);
            }
            assertThat(client.awaitClosed(Duration.ofSeconds(5))).as("connection closed").isTrue();
            assertThat(client.goAway()).as("GOAWAY").isNotNull();
            assertThat(client.goAway().errorCode()).isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
        }
        assertStillServing(null);
        assertThat(hostileCompleted()).as("requests the upstream received in full").isEmpty();
        JsonNode r = Await.value("the GOAWAY's audit record", () -> AuditRecords.of(trail, sink).all().stream()
                .skip(mark).filter(n -> n.path("operation").asText().equals("HTTP/2 connection")).findFirst());
        assertThat(r.path("code").asText()).isEqualTo("DENY_MALFORMED");
        assertThat(r.path("agent").asText()).isEqualTo(TestPki.AGENT.uri());
        assertThat(r.path("reason").asText())
                .startsWith("HTTP/2 connection ended with GOAWAY ENHANCE_YOUR_CALM: rst_flood");
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static RawHttp2Client connect() throws Exception {
        return RawHttp2Client.connect(clientTls, clientGroup, proxy.port());
    }

    /** The upstream may have the head and part of the body, but never a complete request; the agent no 200. */
    private static void assertBodyNeverCompletedUpstream() {
        assertThat(hostileRequests()).as("requests that reached the upstream").hasSizeLessThanOrEqualTo(1)
                .noneMatch(r -> r.uri().contains("smuggled"));
        assertThat(hostileCompleted()).as("requests the upstream received in full").isEmpty();
    }

    /** What reached the upstream, but for the follow-up requests of {@link #assertStillServing}. */
    private static List<TestUpstream.Seen> hostileRequests() {
        return upstream.requests.stream().filter(r -> !r.uri().startsWith("/after-")).toList();
    }

    private static List<TestUpstream.Seen> hostileCompleted() {
        return upstream.completed.stream().filter(r -> !r.uri().startsWith("/after-")).toList();
    }

    /**
     * A valid request still works on {@code sameConnection} (unless it is gone) and on a new connection. Run before
     * looking at what reached the upstream: the follow-ups take longer than a request the sidecar wrongly forwarded
     * would need to show up there (the upstream checks leave the follow-ups, {@code /after-N}, out).
     */
    private static void assertStillServing(RawHttp2Client sameConnection) throws Exception {
        if (sameConnection != null && sameConnection.goAway() == null && sameConnection.isOpen()) {
            RawHttp2Client.Response res = sameConnection.exchange(
                    withTask(get("/api/x/after-" + followUps.incrementAndGet())), null);
            assertThat(res.status()).as("a valid request on the same connection (%s)", res).isEqualTo(200);
        }
        try (RawHttp2Client fresh = connect()) {
            RawHttp2Client.Response res = fresh.exchange(
                    withTask(get("/api/x/after-" + followUps.incrementAndGet())), null);
            assertThat(res.status()).as("a valid request on a new connection (%s)", res).isEqualTo(200);
        }
    }

    /**
     * Audit records written since {@code mark} other than the follow-up requests'. Waits for the last follow-up's
     * outcome first: the trail writes in order, so anything the hostile stream caused is written by then.
     */
    private static List<JsonNode> hostileRecordsSince(int mark) throws Exception {
        String lastFollowUp = "GET /api/x/after-" + followUps.get();
        awaitTrue(() -> sink.lines.stream().skip(mark).anyMatch(l -> l.contains("\"" + lastFollowUp + "\"")
                && l.contains("\"outcome\"")), "the follow-up's outcome record");
        List<JsonNode> out = new ArrayList<>();
        Set<String> decided = new HashSet<>();
        for (String line : sink.lines.subList(mark, sink.lines.size())) {
            JsonNode n = JSON.readTree(line);
            boolean decision = n.path("phase").asText().equals("decision");
            if (decision) {
                decided.add(n.path("decision_id").asText());
            }
            // An outcome of a call decided before the mark belongs to an earlier test.
            if (!n.path("operation").asText().startsWith("GET /api/x/after-")
                    && (decision || decided.contains(n.path("decision_id").asText()))) {
                out.add(n);
            }
        }
        return out;
    }

    /**
     * The head was valid, so the call was allowed (decision {@code ALLOW}); the body then broke the framing
     * rules, and the outcome record says so: {@code malformed_body}, no upstream status.
     */
    private static void assertAuditedAsMalformedBody(int mark, String reasonPart) throws Exception {
        List<JsonNode> recs = hostileRecordsSince(mark);
        assertThat(recs).as("audit records").extracting(r -> r.get("phase").asText())
                .containsExactly("decision", "outcome");
        assertThat(recs.get(0).get("code").asText()).isEqualTo("ALLOW");
        assertThat(recs.get(1).get("outcome").asText()).isEqualTo("malformed_body");
        assertThat(recs.get(1).get("reason").asText()).containsIgnoringCase(reasonPart);
        assertThat(recs.get(1).has("upstream_status")).isFalse();
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws Exception {
        Await.until(what, condition::getAsBoolean);
    }
}
