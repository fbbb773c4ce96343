package dev.toolgate.proxy;

import static dev.toolgate.testing.AuditRecords.field;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toolgate.config.TimeoutsConfig;
import dev.toolgate.testing.RawHttp2Client;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.SidecarExtension;
import dev.toolgate.testing.TestPki;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An upstream that sends its response head and part of the body, then goes silent: after the route's
 * {@code timeouts.bodyIdle} the agent's connection (HTTP/1.1) or stream (HTTP/2) is cut and the outcome record says
 * {@code upstream_timeout}, instead of the agent hanging until its own timeout.
 */
class StalledUpstreamTest {
    @RegisterExtension
    final SidecarExtension env = new SidecarExtension();
    private final List<Socket> held = new CopyOnWriteArrayList<>();
    private ServerSocket server;

    @AfterEach
    void closeUpstream() throws IOException {
        for (Socket s : held) {
            s.close();
        }
        if (server != null) {
            server.close();
        }
    }

    /** A plaintext HTTP/1.1 upstream that answers every request with a head, 5 of 100 body bytes, then nothing. */
    private String stallingUpstream() throws IOException {
        server = new ServerSocket(0);
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    Socket s = server.accept();
                    held.add(s);
                    InputStream in = s.getInputStream();
                    // The request has no body: read up to the blank line that ends its head.
                    int state = 0;
                    while (state < 4) {
                        int b = in.read();
                        if (b < 0) {
                            break;
                        }
                        state = (b == '\r' && state % 2 == 0) || (b == '\n' && state % 2 == 1) ? state + 1 : 0;
                    }
                    s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
                            .getBytes(StandardCharsets.ISO_8859_1));
                    s.getOutputStream().flush();
                }
            } catch (IOException closed) {
                // the test is over
            }
        }, "stalling-upstream");
        t.setDaemon(true);
        t.start();
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    private ProxyServer sidecar(SidecarExtension.MemoryAudit audit) throws Exception {
        return env.start(env.builder(Sidecar.config(List.of(Sidecar.route("stall", "/api/stall", stallingUpstream(),
                        new TimeoutsConfig(null, Duration.ofSeconds(5), null, Duration.ofMillis(300))))))
                .audit(audit.trail()));
    }

    @Test
    void http1ConnectionIsCutAndRecordedAsUpstreamTimeout() throws Exception {
        SidecarExtension.MemoryAudit audit = env.memoryAudit();
        ProxyServer proxy = sidecar(audit);
        String token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
        try (RawHttpClient agent = new RawHttpClient(env.pki().jdkClient(TestPki.AGENT), proxy.port())) {
            RawHttpClient.Response res = agent.exchange("GET /api/stall/x HTTP/1.1\r\nHost: a\r\ntoolgate-task: "
                    + token + "\r\n\r\n");
            // The head came; the body stops after 5 bytes and the connection closes (well before the 5 s read timeout).
            assertThat(res.status()).isEqualTo(200);
            assertThat(res.body()).isEqualTo("hello");
        }
        JsonNode outcome = audit.records().awaitLast("the outcome", field("phase", "outcome"));
        assertThat(outcome.get("outcome").asText()).isEqualTo("upstream_timeout");
        assertThat(outcome.get("upstream_status").asInt()).isEqualTo(200);
    }

    @Test
    void http2StreamIsResetAndRecordedAsUpstreamTimeout() throws Exception {
        SidecarExtension.MemoryAudit audit = env.memoryAudit();
        ProxyServer proxy = sidecar(audit);
        String token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
        try (RawHttp2Client agent = RawHttp2Client.connect(env.pki(), TestPki.AGENT, proxy.port())) {
            RawHttp2Client.Response res = agent.exchange(
                    RawHttp2Client.request("GET", "/api/stall/x").add("toolgate-task", token), null);
            assertThat(res.status()).isEqualTo(200);
            assertThat(res.wasReset()).as("the stream is cut, not ended").isTrue();
            assertThat(res.ended()).isFalse();
        }
        JsonNode outcome = audit.records().awaitLast("the outcome", field("phase", "outcome"));
        assertThat(outcome.get("outcome").asText()).isEqualTo("upstream_timeout");
    }
}
