package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
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
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.SslContext;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The sidecar-set identity headers (issue 17, item 6) over real mTLS on HTTP/1.1 and HTTP/2: on a route with
 * {@code identityHeaders: true} the upstream receives {@code x-toolgate-spiffe-id} (the agent's verified SPIFFE ID),
 * {@code x-toolgate-task-id} and {@code x-toolgate-decision-id} equal to the call's decision record, and never the
 * task token; on any route, the agent's own (forged) copies never reach the upstream.
 */
class IdentityHeadersTest {
    /** What an agent might forge, to pass for an admin in another task. */
    private static final String[] FORGED = {
        "x-toolgate-spiffe-id: spiffe://toolgate.test/admin", "x-toolgate-task-id: task-of-someone-else",
        "x-toolgate-decision-id: 00000000000000000000000000000000", "x-toolgate-other: 1"};

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

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        sink = new MemoryAuditSink();
        trail = AuditTrail.start(sink, null, 1000);
        RouteConfig told = new RouteConfig("told", "/api/told", null, null,
                new UpstreamConfig(URI.create(upstream.url()), null, null), null, null, null, null, null, true);
        proxy = Sidecar.builder(pki, Sidecar.config(List.of(told, Sidecar.route("plain", "/api/plain",
                upstream.url())))).audit(trail).build();
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
    }

    @ParameterizedTest
    @EnumSource(Via.class)
    void optedInRouteTellsTheUpstreamWhoCallsAndForgedValuesNeverArrive(Via via) throws Exception {
        int mark = sink.lines.size();
        assertThat(send(via, "GET", "/api/told/items", FORGED)).as("status").isEqualTo(200);
        JsonNode rec = decisionSince(mark);
        assertThat(rec.path("code").asText()).isEqualTo("ALLOW");
        HttpHeaders seen = upstream.requests.get(0).headers();
        assertThat(seen.getAll("x-toolgate-spiffe-id")).containsExactly(TestPki.AGENT.uri());
        assertThat(seen.getAll("x-toolgate-task-id")).containsExactly(rec.path("task_id").asText());
        assertThat(seen.getAll("x-toolgate-decision-id")).containsExactly(rec.path("decision_id").asText());
        assertThat(seen.contains("x-toolgate-other")).as("another x-toolgate- header of the agent").isFalse();
        assertThat(seen.contains("toolgate-task")).as("the task token").isFalse();
        assertThat(seen.names()).noneMatch(n -> seen.get(n).contains(token));
    }

    @ParameterizedTest
    @EnumSource(Via.class)
    void optedInRouteSetsTheHeadersOnABodyToo(Via via) throws Exception {
        int mark = sink.lines.size();
        assertThat(send(via, "POST", "/api/told/items", FORGED)).as("status").isEqualTo(200);
        JsonNode rec = decisionSince(mark);
        HttpHeaders seen = upstream.requests.get(0).headers();
        assertThat(seen.getAll("x-toolgate-spiffe-id")).containsExactly(TestPki.AGENT.uri());
        assertThat(seen.getAll("x-toolgate-decision-id")).containsExactly(rec.path("decision_id").asText());
    }

    @ParameterizedTest
    @EnumSource(Via.class)
    void otherRoutesNeverForwardTheAgentsCopies(Via via) throws Exception {
        assertThat(send(via, "GET", "/api/plain/items", FORGED)).as("status").isEqualTo(200);
        HttpHeaders seen = upstream.requests.get(0).headers();
        assertThat(seen.names()).noneMatch(n -> n.toLowerCase(java.util.Locale.ROOT).startsWith("x-toolgate-"));
    }

    /** Sends one request with the task token and {@code headers} ("name: value"); a POST carries a small body. */
    private static int send(Via via, String method, String path, String... headers) throws Exception {
        String body = method.equals("POST") ? "{\"a\":1}" : null;
        if (via == Via.HTTP1) {
            StringBuilder raw = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: sidecar\r\n"
                    + "toolgate-task: " + token + "\r\nConnection: close\r\n");
            for (String h : headers) {
                raw.append(h).append("\r\n");
            }
            if (body != null) {
                raw.append("Content-Length: ").append(body.length()).append("\r\n\r\n").append(body);
            } else {
                raw.append("\r\n");
            }
            try (RawHttpClient c = new RawHttpClient(http1Tls, proxy.port())) {
                return c.exchange(raw.toString()).status();
            }
        }
        Http2Headers h = RawHttp2Client.request(method, path).add("toolgate-task", token);
        for (String line : headers) {
            int colon = line.indexOf(':');
            h.add(line.substring(0, colon), line.substring(colon + 1).trim());
        }
        try (RawHttp2Client c = RawHttp2Client.connect(http2Tls, clientGroup, proxy.port())) {
            return c.exchange(h, body).status();
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
