package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.config.AdminConfig;
import dev.toolgate.config.LimitsConfig;
import dev.toolgate.config.ListenerConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.SidecarExtension;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** curl, a real client, through the sidecar with dev-CA files written by the dev CA (as a user would). */
class CurlTest {
    @TempDir
    static Path dir;
    @RegisterExtension
    static final SidecarExtension env = new SidecarExtension();
    static TestPki pki;
    static TestUpstream upstream;
    static ProxyServer proxy;
    static Path agent;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        pki = env.pki();
        upstream = env.upstream();
        proxy = env.sidecar(Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url()))));
        agent = pki.files(TestPki.AGENT);
        token = Sidecar.taskForEverything(proxy, TestPki.AGENT);
    }

    @BeforeEach
    void clear() {
        upstream.requests.clear();
    }

    record Result(int exit, String out, String err) {}

    private static Result curl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10",
                "--cacert", agent.resolve("bundle.pem").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out, err);
    }

    /** The agent's certificate and key, and its task token. */
    private static String[] withCert(String... args) {
        List<String> all = new ArrayList<>(List.of("--cert", agent.resolve("svid.pem").toString(),
                "--key", agent.resolve("svid.key").toString(), "-H", "toolgate-task: " + token));
        all.addAll(List.of(args));
        return all.toArray(new String[0]);
    }

    private static String url(String path) {
        return "https://127.0.0.1:" + proxy.port() + path;
    }

    @Test
    void http11WithClientCertificate() throws Exception {
        Result r = curl(withCert("--http1.1", "-w", "\n%{http_code} %{http_version}", url("/api/weather/v1/x?q=1")));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"uri\":\"/v1/x?q=1\"").endsWith("\n200 1.1");
        assertThat(upstream.requests).hasSize(1);
    }

    @Test
    void http2WithClientCertificate() throws Exception {
        Result r = curl(withCert("--http2", "-w", "\n%{http_code} %{http_version}", url("/api/weather/v1/y")));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"uri\":\"/v1/y\"").endsWith("\n200 2");
    }

    @Test
    void http2PostWithBody() throws Exception {
        Result r = curl(withCert("--http2", "--data-binary", "hello agent", url("/api/weather/v1/post")));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"bodyBytes\":11").contains("\"method\":\"POST\"");
    }

    @Test
    void largeHttp11UploadWithExpectContinue() throws Exception {
        // curl asks "Expect: 100-continue" for bodies over 1 MiB; the sidecar answers it and does not forward it.
        Path body = dir.resolve("upload.bin");
        byte[] bytes = new byte[3 * 1024 * 1024];
        new java.util.Random(1).nextBytes(bytes);
        java.nio.file.Files.write(body, bytes);
        Result r = curl(withCert("--http1.1", "-v", "--data-binary", "@" + body, url("/api/weather/upload")));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("Expect: 100-continue").contains("HTTP/1.1 100 Continue");
        assertThat(r.out()).contains("\"bodyBytes\":" + bytes.length).doesNotContain("\"expect\"");
        assertThat(upstream.requests.get(0).headers().contains("expect")).isFalse();
        assertThat(upstream.requests.get(0).headers().contains("toolgate-task")).isFalse();
    }

    @Test
    void anUploadOverTheLimitGetsThe413WhileCurlIsStillSending() throws Exception {
        // No Expect: 100-continue, so curl sends the body at once; the sidecar refuses on the declared length and
        // must not reset the connection under curl before it has read the answer.
        SidecarConfig small = new SidecarConfig(new ListenerConfig("127.0.0.1", 0), null,
                new LimitsConfig(null, null, 64L * 1024), null, null, new AdminConfig("127.0.0.1", 0),
                List.of(Sidecar.route("weather", "/api/weather", upstream.url())))
                .withUnrestrictedWithoutPolicy(true); // a test of limits, not of policy
        Path body = dir.resolve("too-large.bin");
        java.nio.file.Files.write(body, new byte[16 << 20]);
        try (ProxyServer limited = Sidecar.start(pki, small)) {
            String limitedToken = Sidecar.taskForEverything(limited, TestPki.AGENT);
            Result r = curl("--cert", agent.resolve("svid.pem").toString(), "--key", agent.resolve("svid.key")
                    .toString(), "-H", "toolgate-task: " + limitedToken, "--http1.1", "-H", "Expect:",
                    "-w", "\n%{http_code}", "--data-binary", "@" + body,
                    "https://127.0.0.1:" + limited.port() + "/api/weather/upload");
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).contains("\"error\":\"body_too_large\"").endsWith("\n413");
        }
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void withoutClientCertificateTheHandshakeFails() throws Exception {
        Result r = curl("--http1.1", url("/api/weather/v1/x"));
        // 35 SSL connect error; with TLS 1.3 the alert may come after curl finished its side: 55 send / 56 receive failure
        assertThat(r.exit()).isIn(35, 55, 56);
        assertThat(r.out()).isEmpty();
        assertThat(upstream.requests).isEmpty();
    }

    @Test
    void aCertificateFromAnotherCaIsRefused() throws Exception {
        Path other = dev.toolgate.identity.DevCa.openOrCreate(dir.resolve("other-ca"), TestPki.TRUST_DOMAIN)
                .issueTo(TestPki.AGENT, dir.resolve("other-agent"));
        Result r = curl("--cert", other.resolve("svid.pem").toString(), "--key", other.resolve("svid.key").toString(),
                url("/api/weather/v1/x"));
        assertThat(r.exit()).isIn(35, 55, 56);
        assertThat(upstream.requests).isEmpty();
    }
}
