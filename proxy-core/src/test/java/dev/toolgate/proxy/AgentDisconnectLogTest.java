package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * An agent that drops its connection (a TCP reset, as a killed process or a client timing out does) is an ordinary
 * event: one DEBUG line naming the connection, never Netty's WARN with a "Connection reset by peer" stack trace. Over
 * HTTP/2 (where the frame codec passes the socket error on to the end of the pipeline) and HTTP/1.1.
 */
class AgentDisconnectLogTest {
    private static final int CONNECTIONS = 5;

    @TempDir
    Path dir;

    private final LoggerContext logging = (LoggerContext) LoggerFactory.getILoggerFactory();
    private final ListAppender<ILoggingEvent> events = new ListAppender<>();
    private Level toolgateLevel;

    @BeforeEach
    void captureEverything() {
        Logger toolgate = logging.getLogger("dev.toolgate");
        toolgateLevel = toolgate.getLevel();
        toolgate.setLevel(Level.DEBUG);
        events.start();
        logging.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(events);
    }

    @AfterEach
    void stopCapturing() {
        logging.getLogger(Logger.ROOT_LOGGER_NAME).detachAppender(events);
        logging.getLogger("dev.toolgate").setLevel(toolgateLevel);
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "http/1.1"})
    void anAgentThatResetsItsConnectionIsOneDebugLine(String protocol) throws Exception {
        TestPki pki = TestPki.create(dir);
        try (ProxyServer server = Sidecar.start(pki, Sidecar.config(List.of()))) {
            synchronized (events) {
                events.list.clear(); // the start's own lines (the test config's opt-out warning) are not the point
            }
            for (int i = 0; i < CONNECTIONS; i++) {
                Socket tcp = new Socket("127.0.0.1", server.port());
                SSLSocket tls = (SSLSocket) pki.jdkClient(TestPki.AGENT).getSocketFactory()
                        .createSocket(tcp, "127.0.0.1", server.port(), true);
                SSLParameters params = tls.getSSLParameters();
                params.setApplicationProtocols(new String[] {protocol});
                tls.setSSLParameters(params);
                tls.startHandshake();
                assertThat(tls.getApplicationProtocol()).isEqualTo(protocol);
                OutputStream out = tls.getOutputStream();
                if (protocol.equals("h2")) {
                    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // an empty SETTINGS frame
                    out.flush();
                    assertThat(tls.getInputStream().readNBytes(9)).as("the server's SETTINGS frame header")
                            .hasSize(9);
                    out.write(new byte[] {0, 0, 8}); // a frame header not finished: the sidecar is reading
                    out.flush();
                    Thread.sleep(100);
                } else {
                    out.write("GET /api/nowhere HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush(); // a head not finished: the sidecar is reading when the agent goes
                    Thread.sleep(100);
                }
                tcp.setSoLinger(true, 0);
                tcp.close(); // RST, no close_notify: what a killed agent leaves behind
            }
            // Whether the kernel reports a reset or a plain end is up to its timing: some do, each once at most.
            Await.until("the sidecar noticed a reset", () -> resetLines().size() >= 1);
            Thread.sleep(300); // anything logged after would show now
            assertThat(snapshot()).as("nothing at WARN or above")
                    .noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.WARN));
            List<ILoggingEvent> resets = resetLines();
            assertThat(resets).as("at DEBUG, one line, no stack trace").allSatisfy(e -> {
                assertThat(e.getLevel()).isEqualTo(Level.DEBUG);
                assertThat(e.getFormattedMessage()).startsWith("[").contains("Connection reset");
                assertThat(e.getThrowableProxy()).isNull();
            });
            assertThat(resets.stream().map(e -> e.getFormattedMessage().substring(0, 10)).distinct().count())
                    .as("once per connection").isEqualTo(resets.size()).isLessThanOrEqualTo(CONNECTIONS);
        }
    }

    /** What was logged so far (the appender adds under its own lock). */
    private List<ILoggingEvent> snapshot() {
        synchronized (events) {
            return List.copyOf(events.list);
        }
    }

    private List<ILoggingEvent> resetLines() {
        return snapshot().stream().filter(e -> e.getFormattedMessage().contains("Connection reset")
                || e.getThrowableProxy() != null && String.valueOf(e.getThrowableProxy().getMessage())
                .contains("Connection reset")).toList();
    }
}
