package dev.toolgate.fleet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Real etcd members (the Debian {@code etcd} binary, package {@code etcd-server}) on loopback with free ports and a
 * temporary data directory (in {@code /dev/shm} where it can: fsync there costs nothing), for the fleet tests. Each
 * member can be killed ({@code SIGKILL}), stopped and started again on the same ports and data. Closing kills every
 * member and deletes the data. Not thread-safe: one test thread drives it.
 */
final class EtcdCluster implements AutoCloseable {
    /** Where the binary is looked for: {@code -Dtoolgate.etcd=PATH}, else {@code etcd} on the PATH, else Debian's. */
    static Path binary() {
        String configured = System.getProperty("toolgate.etcd");
        if (configured != null) {
            return Files.isExecutable(Path.of(configured)) ? Path.of(configured) : null;
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "etcd"))) {
                return Path.of(dir, "etcd");
            }
        }
        return Files.isExecutable(Path.of("/usr/bin/etcd")) ? Path.of("/usr/bin/etcd") : null;
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();

    private final Path etcd;
    private final Path dir;
    private final Tls tls;
    private final List<Member> members = new ArrayList<>();
    private final Thread reaper = new Thread(this::killAll, "etcd-reaper");

    /** The members' TLS for clients: their certificate and key, and the CA client certificates must chain to. */
    record Tls(Path certificate, Path key, Path ca) {}

    private record Member(String name, int clientPort, int peerPort, int metricsPort, Path data, Path log,
                          Process[] process, boolean tls) {
        String clientUrl() {
            return (tls ? "https" : "http") + "://127.0.0.1:" + clientPort;
        }

        String peerUrl() {
            return "http://127.0.0.1:" + peerPort;
        }
    }

    private EtcdCluster(Path etcd, Path dir, Tls tls) {
        this.etcd = etcd;
        this.dir = dir;
        this.tls = tls;
    }

    /** Starts {@code size} members that form one cluster and waits until every one answers healthy. */
    static EtcdCluster start(int size) throws IOException, InterruptedException {
        return start(size, null);
    }

    /**
     * Starts {@code size} members that serve clients over TLS with {@code tls} and require a client certificate
     * ({@code --client-cert-auth}); null for plaintext.
     */
    static EtcdCluster start(int size, Tls tls) throws IOException, InterruptedException {
        Path etcd = binary();
        if (etcd == null) {
            throw new IllegalStateException("no etcd binary (apt-get install etcd-server)");
        }
        Path shm = Path.of("/dev/shm");
        Path dir = Files.isDirectory(shm) && Files.isWritable(shm)
                ? Files.createTempDirectory(shm, "toolgate-etcd-") : Files.createTempDirectory("toolgate-etcd-");
        EtcdCluster c = new EtcdCluster(etcd, dir, tls);
        Runtime.getRuntime().addShutdownHook(c.reaper);
        try {
            for (int i = 0; i < size; i++) {
                c.members.add(new Member("m" + i, freePort(), freePort(), freePort(), dir.resolve("m" + i),
                        dir.resolve("m" + i + ".log"), new Process[1], tls != null));
            }
            for (int i = 0; i < size; i++) {
                c.launch(i);
            }
            for (int i = 0; i < size; i++) {
                c.awaitHealthy(i, Duration.ofSeconds(30));
            }
            return c;
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The client URLs of every member, in order. */
    List<String> endpoints() {
        return members.stream().map(Member::clientUrl).toList();
    }

    /** The client URL of member {@code i}. */
    String endpoint(int i) {
        return members.get(i).clientUrl();
    }

    int size() {
        return members.size();
    }

    /** Kills member {@code i} at once (SIGKILL) and waits for it to be gone. */
    void kill(int i) throws InterruptedException {
        Process p = members.get(i).process()[0];
        if (p != null) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Starts member {@code i} again on its ports and data, and waits until it answers healthy. */
    void restart(int i) throws IOException, InterruptedException {
        kill(i);
        launch(i);
        awaitHealthy(i, Duration.ofSeconds(30));
    }

    private void launch(int i) throws IOException {
        Member m = members.get(i);
        String cluster = members.stream().map(x -> x.name() + "=" + x.peerUrl()).collect(Collectors.joining(","));
        List<String> cmd = new ArrayList<>(List.of(etcd.toString(),
                "--name", m.name(),
                "--data-dir", m.data().toString(),
                "--listen-client-urls", m.clientUrl(),
                "--advertise-client-urls", m.clientUrl(),
                "--listen-peer-urls", m.peerUrl(),
                "--initial-advertise-peer-urls", m.peerUrl(),
                "--initial-cluster", cluster,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", dir.getFileName().toString(),
                // Short raft timings: a lost leader is replaced in well under a second (loopback, tests only).
                "--heartbeat-interval", "50",
                "--election-timeout", "500",
                // /health over plain HTTP whatever the client port speaks
                "--listen-metrics-urls", "http://127.0.0.1:" + m.metricsPort(),
                "--logger", "zap",
                "--log-outputs", "stderr"));
        if (tls != null) {
            cmd.addAll(List.of("--cert-file", tls.certificate().toString(), "--key-file", tls.key().toString(),
                    "--trusted-ca-file", tls.ca().toString(), "--client-cert-auth"));
        }
        m.process()[0] = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(m.log().toFile()))
                .start();
    }

    private void awaitHealthy(int i, Duration within) throws InterruptedException {
        Member m = members.get(i);
        long deadline = System.nanoTime() + within.toNanos();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + m.metricsPort() + "/health"))
                .timeout(Duration.ofSeconds(1)).build();
        while (System.nanoTime() < deadline) {
            Process p = m.process()[0];
            if (!p.isAlive()) {
                throw new IllegalStateException("etcd member " + m.name() + " exited with " + p.exitValue()
                        + ":\n" + tail(m.log()));
            }
            try {
                HttpResponse<String> r = HTTP.send(health, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains("\"health\":\"true\"")) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(25);
        }
        throw new IllegalStateException("etcd member " + m.name() + " not healthy within " + within + ":\n"
                + tail(m.log()));
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void killAll() {
        for (Member m : members) {
            Process p = m.process()[0];
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        killAll();
        for (Member m : members) {
            Process p = m.process()[0];
            if (p != null) {
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
        try {
            Runtime.getRuntime().removeShutdownHook(reaper);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // a leftover temporary directory is not a test failure
        }
    }
}
