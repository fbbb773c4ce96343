package dev.toolgate.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The two scripts the image runs: the exec probe (deploy/docker/probe.sh) and the entry point (entrypoint.sh). */
class ImageScriptsTest {
    private static final String PROBE = Repo.path("deploy/docker/probe.sh").toString();
    private static final String ENTRYPOINT = Repo.path("deploy/docker/entrypoint.sh").toString();

    private HttpServer admin;
    private String port;

    @BeforeEach
    void startAdmin() throws Exception {
        // Stands in for the sidecar's admin endpoint: ready, not alive.
        admin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        admin.createContext("/readyz", x -> {
            x.sendResponseHeaders(200, -1);
            x.close();
        });
        admin.createContext("/healthz", x -> {
            x.sendResponseHeaders(503, -1);
            x.close();
        });
        admin.start();
        port = String.valueOf(admin.getAddress().getPort());
    }

    @AfterEach
    void stopAdmin() {
        admin.stop(0);
    }

    @Test
    void probePassesOn200AndFailsOtherwiseSayingWhy() throws Exception {
        assertThat(probe("/readyz", port).exit()).isZero();
        Commands.Result unhealthy = probe("/healthz", port);
        assertThat(unhealthy.exit()).isEqualTo(1);
        assertThat(unhealthy.err()).contains("answered: HTTP/1.1 503");
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        Commands.Result down = probe("/readyz", String.valueOf(closed));
        assertThat(down.exit()).isEqualTo(1);
        assertThat(down.err()).contains("nothing listens on 127.0.0.1:" + closed);
    }

    @Test
    void probeFailsOnceAWatchedFileChangedAfterTheSidecarStarted(@TempDir Path dir) throws Exception {
        // The "sidecar" is this JVM: a file written before it started passes, one changed since fails.
        Path svid = dir.resolve("svid.pem");
        Files.writeString(svid, "x");
        Instant started = ProcessHandle.current().info().startInstant().orElseThrow();
        Files.setLastModifiedTime(svid, FileTime.from(started.minusSeconds(60)));
        Map<String, String> env = Map.of("TOOLGATE_PROBE_PID", String.valueOf(ProcessHandle.current().pid()));
        assertThat(run(env, PROBE, "/readyz", port, svid.toString()).exit()).isZero();

        Files.setLastModifiedTime(svid, FileTime.from(Instant.now().plusSeconds(5)));
        Commands.Result renewed = run(env, PROBE, "/readyz", port, svid.toString());
        assertThat(renewed.exit()).isEqualTo(1);
        assertThat(renewed.err()).contains(svid + " changed after the sidecar started");

        Commands.Result missing = run(env, PROBE, "/readyz", port, dir.resolve("gone.pem").toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("is missing");
    }

    @Test
    void entrypointWaitsForTheSvidFilesThenGivesUp(@TempDir Path dir) {
        Path svid = dir.resolve("svid.pem");
        Commands.Result r = Commands.run(List.of(ENTRYPOINT, "--version"),
                Map.of("TOOLGATE_WAIT_FOR", svid.toString(), "TOOLGATE_WAIT_SECONDS", "1"), null, Duration.ofSeconds(10));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(svid + " is missing or empty after 1s");
    }

    @Test
    void entrypointRunsTheJarWithTheImagesJvmFlags(@TempDir Path dir) throws Exception {
        Path svid = dir.resolve("svid.pem");
        Files.writeString(svid, "present");
        Commands.Result r = Commands.run(List.of(ENTRYPOINT, "--version"),
                Map.of("TOOLGATE_WAIT_FOR", svid.toString(), "TOOLGATE_JAR", Repo.toolgateJar().toString(),
                        "TOOLGATE_JAVA_OPTS", Image.facts().javaOpts(),
                        "PATH", Path.of(System.getProperty("java.home"), "bin") + ":" + System.getenv("PATH")),
                null, Duration.ofSeconds(30));
        assertThat(r.exit()).as(r.describe()).isZero();
        assertThat(r.out()).startsWith("toolgate ");
    }

    private static Commands.Result probe(String path, String port) {
        return run(Map.of(), PROBE, path, port);
    }

    private static Commands.Result run(Map<String, String> env, String... cmd) {
        return Commands.run(new ArrayList<>(List.of(cmd)), env, null, Duration.ofSeconds(10));
    }
}
