package dev.toolgate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.config.IdentityConfig;
import dev.toolgate.proxy.Identities;
import dev.toolgate.identity.SpireTlsMaterial;
import dev.toolgate.identity.Svid;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestSpireAgent;
import dev.toolgate.testing.TestUpstream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code toolgate run} with {@code identity.source: spire}, against the test SPIRE agent. */
class RunWithSpireTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SERVING = Pattern.compile("serving agents on [^ ]*:(\\d+) as (\\S+);");

    @TempDir
    Path dir;

    @Test
    void identitiesBuildSpireMaterialFromTheConfig() throws Exception {
        TestPki pki = TestPki.create(dir);
        Svid issued = pki.issue(TestPki.SIDECAR);
        try (TestSpireAgent spire = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            spire.issue(issued, pki.ca().certificate());
            Identities.Loaded loaded = Identities.load(IdentityConfig.spire(spire.address(),
                    TestPki.SIDECAR.toString(), Duration.ofSeconds(30)));
            TlsMaterial tls = loaded.tls();
            SpireTlsMaterial spireTls = (SpireTlsMaterial) tls;
            assertThat(spireTls.address()).isEqualTo(spire.address());
            assertThat(tls.svid().leaf()).isEqualTo(issued.leaf());
            // The JWT bundles come from the same Workload API connection.
            assertThat(loaded.jwtBundles().keys(TestPki.TRUST_DOMAIN)).isNull();
            spire.issueJwtBundles(java.util.Map.of(TestPki.TRUST_DOMAIN, pki.ca().jwks()));
            Await.until("JWT bundle", Duration.ofSeconds(20),
                    () -> loaded.jwtBundles().keys(TestPki.TRUST_DOMAIN) != null);
            assertThat(loaded.jwtBundles().keys(TestPki.TRUST_DOMAIN))
                    .isEqualTo(pki.ca().jwtBundles().keys(TestPki.TRUST_DOMAIN));
            // What RunCommand does at shutdown: closing the identity ends the Workload API streams.
            assertThat(spire.openX509Streams()).isEqualTo(1);
            loaded.close();
            Await.until("streams closed", Duration.ofSeconds(20), () -> spire.openX509Streams() == 0);
        }
    }

    @Test
    void runWithoutAnSvidInTimeExitsWithCode2AndSaysWhy() throws Exception {
        Path socket = dir.resolve("nobody.sock");
        Path cfg = Files.writeString(dir.resolve("spire.yaml"), """
                identity: {source: spire, socket: 'unix://%s', startupTimeout: 1s}
                audit: {file: audit/audit.jsonl}
                listener: {port: 0}
                admin: {port: 0}
                """.formatted(socket));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertThat(Main.commandLine().execute("run", "--config", cfg.toString())).isEqualTo(2);
        } finally {
            System.setErr(old);
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("toolgate: cannot load the sidecar's identity "
                + "(spire): no X.509-SVID from the SPIFFE Workload API at unix://" + socket + " within PT1S (nothing "
                + "received: is the SPIRE agent running there, and is this workload registered?)\n");
    }

    @Test
    void theSidecarProcessServesTheSvidSpireIssuesAndFollowsItsRotation() throws Exception {
        TestPki pki = TestPki.create(dir);
        Svid first = pki.issue(TestPki.SIDECAR);
        try (TestUpstream upstream = TestUpstream.start();
             TestSpireAgent spire = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            spire.issue(first, pki.ca().certificate());
            Files.writeString(dir.resolve("routes.yaml"), """
                    routes:
                      - name: weather
                        prefix: /api/weather
                        upstream: {url: %s}
                    """.formatted(upstream.url()));
            Path cfg = Files.writeString(dir.resolve("sidecar.yaml"), """
                    listener: {port: 0, jwtSvid: {enabled: true, audience: toolgate}}
                    admin: {port: 0}
                    identity: {source: spire, socket: '%s', spiffeId: '%s'}
                    audit: {file: audit/audit.jsonl}
                    routes: [routes.yaml]
                    unrestrictedWithoutPolicy: true   # a test of the process, not of policy
                    """.formatted(spire.address(), TestPki.SIDECAR));
            SSLContext agentTls = pki.jdkClient(TestPki.AGENT);
            Process sidecar = launch(cfg);
            try {
                int port = awaitServing(sidecar, TestPki.SIDECAR.toString());
                assertThat(servedSerial(agentTls, port)).isEqualTo(first.leaf().getSerialNumber());

                HttpClient agent = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .sslContext(agentTls).build();
                HttpResponse<String> task = agent.send(HttpRequest.newBuilder(
                                URI.create("https://127.0.0.1:" + port + "/_toolgate/v1/tasks"))
                        .timeout(Duration.ofSeconds(10))
                        .POST(HttpRequest.BodyPublishers.ofString("""
                                {"purpose":"spire","grants":[{"route":"weather","operations":["GET /**"]}]}"""))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(task.statusCode()).as(task.body()).isEqualTo(201);
                String token = JSON.readTree(task.body()).path("token").asText();
                HttpRequest call = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/api/weather/x"))
                        .timeout(Duration.ofSeconds(10)).header("toolgate-task", token).build();
                assertThat(agent.send(call, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);

                // Without a certificate, with a JWT-SVID verified against the JWT bundle SPIRE streams.
                String jwtCall = "GET /api/weather/jwt HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "
                        + pki.ca().mintJwtSvid(TestPki.AGENT, "toolgate", Duration.ofMinutes(5))
                        + "\r\ntoolgate-task: " + token + "\r\n\r\n";
                SSLContext noCert = pki.jdkClientWithoutCertificate();
                assertThat(status(noCert, port, jwtCall)).as("no JWT bundle yet").isEqualTo(401);
                spire.issueJwtBundles(java.util.Map.of(TestPki.TRUST_DOMAIN, pki.ca().jwks()));
                Await.until("JWT-SVID accepted", Duration.ofSeconds(20),
                        () -> status(noCert, port, jwtCall) == 200);
                assertThat(upstream.requests).extracting(TestUpstream.Seen::uri).containsExactly("/x", "/jwt");
                assertThat(upstream.requests.get(1).headers().contains("authorization")).isFalse();

                Svid second = pki.issue(TestPki.SIDECAR);
                spire.issue(second, pki.ca().certificate());
                Await.until("rotation served", Duration.ofSeconds(20),
                        () -> servedSerial(agentTls, port).equals(second.leaf().getSerialNumber()));
                assertThat(agent.send(call, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            } finally {
                sidecar.destroy();
                assertThat(sidecar.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }
        }
    }

    private static int status(SSLContext tls, int port, String request) throws IOException {
        try (RawHttpClient c = new RawHttpClient(tls, port)) {
            return c.exchange(request).status();
        }
    }

    private static BigInteger servedSerial(SSLContext tls, int port) throws Exception {
        try (RawHttpClient c = new RawHttpClient(tls, port)) {
            return ((X509Certificate) c.session().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private static Process launch(Path config) throws IOException {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", "--config",
                config.toString(), "--workers", "1")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    /** Reads the sidecar's stderr until it serves (as {@code id}); returns its port and keeps draining the rest. */
    private static int awaitServing(Process p, String id) throws Exception {
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        CompletableFuture<Integer> port = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line = err.readLine(); line != null; line = err.readLine()) {
                    seen.append(line).append('\n');
                    Matcher m = SERVING.matcher(line);
                    if (m.find()) {
                        assertThat(m.group(2)).isEqualTo(id);
                        return Integer.parseInt(m.group(1));
                    }
                }
                throw new IllegalStateException("the sidecar exited before serving:\n" + seen);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        int listening = port.get(60, TimeUnit.SECONDS);
        Thread drain = new Thread(() -> err.lines().forEach(l -> { }), "sidecar-stderr");
        drain.setDaemon(true);
        drain.start();
        return listening;
    }
}
