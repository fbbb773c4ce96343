package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.SidecarExtension;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Large bodies stream through in both directions without the sidecar buffering them. */
class StreamingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MIB = 1024 * 1024;

    @RegisterExtension
    static final SidecarExtension env = new SidecarExtension();
    static TestPki pki;
    static TestUpstream upstream;
    static ProxyServer proxy;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        pki = env.pki();
        upstream = env.upstream();
        proxy = env.sidecar(Sidecar.config(List.of(Sidecar.route("files", "/api/files", upstream.url()))));
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
    }

    @ParameterizedTest
    @EnumSource(value = HttpClient.Version.class)
    void a64MiBUploadArrivesIntact(HttpClient.Version version) throws Exception {
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        HttpClient client = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).version(version).build();
        HttpResponse<String> res = client.send(HttpRequest.newBuilder(
                        URI.create("https://127.0.0.1:" + proxy.port() + "/api/files/upload"))
                .timeout(Duration.ofSeconds(60))
                .header("toolgate-task", token)
                .POST(HttpRequest.BodyPublishers.fromPublisher(
                        HttpRequest.BodyPublishers.ofInputStream(() -> new RandomBytes(64 * MIB, sent))))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode echo = JSON.readTree(res.body());
        assertThat(echo.get("bodyBytes").asLong()).isEqualTo(64L * MIB);
        assertThat(echo.get("sha256").asText()).isEqualTo(HexFormat.of().formatHex(sent.digest()));
    }

    @Test
    void aSlowReaderDoesNotMakeTheSidecarBufferTheResponse() throws Exception {
        long size = 128L * MIB;
        upstream.downloadBytesWritten.set(0);
        try (RawHttpClient client = new RawHttpClient(pki.jdkClient(TestPki.AGENT), proxy.port(), 256 * 1024)) {
            client.send("GET /api/files/download/" + size + " HTTP/1.1\r\nHost: x\r\ntoolgate-task: " + token
                    + "\r\n\r\n");
            InputStream in = client.input();
            byte[] buf = new byte[256 * 1024];
            long read = readHead(in);
            long total = 0;
            while (total < MIB) {
                total += in.read(buf);
            }
            // The agent stops reading. A sidecar that buffered would let the upstream write all 128 MiB;
            // with back-pressure the upstream stalls after socket buffers and one read's worth are full.
            long stalled = waitUntilStable();
            assertThat(stalled).isLessThan(size / 2);
            for (int n; total < size && (n = in.read(buf)) > 0; ) {
                total += n;
            }
            assertThat(total).isGreaterThanOrEqualTo(size);
            assertThat(upstream.downloadBytesWritten.get()).isEqualTo(size);
            assertThat(read).isPositive();
        }
    }

    /** Reads up to the end of the response head; returns its length. */
    private static long readHead(InputStream in) throws Exception {
        long n = 0;
        int state = 0;
        while (state < 4) {
            int b = in.read();
            n++;
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
                    ? state + 1 : 0;
        }
        return n;
    }

    /** Polls the upstream's written-byte count until it stops growing (the stall), at most a few seconds. */
    private static long waitUntilStable() throws InterruptedException {
        long last = -1;
        for (int i = 0; i < 40; i++) {
            // Not a wait for an event: a count that stopped growing only shows as time passes without growth.
            Thread.sleep(100);
            long now = upstream.downloadBytesWritten.get();
            if (now == last) {
                return now;
            }
            last = now;
        }
        return last;
    }

    /** A deterministic pseudo-random stream of {@code size} bytes that also digests what it hands out. */
    private static final class RandomBytes extends InputStream {
        private final Random random = new Random(42);
        private final MessageDigest digest;
        private long left;

        RandomBytes(long size, MessageDigest digest) {
            this.left = size;
            this.digest = digest;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (left == 0) {
                return -1;
            }
            int n = (int) Math.min(len, left);
            byte[] chunk = new byte[n];
            random.nextBytes(chunk);
            System.arraycopy(chunk, 0, b, off, n);
            digest.update(chunk);
            left -= n;
            return n;
        }
    }
}
