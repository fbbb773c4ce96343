package dev.toolgate.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.SpiffeId;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The egress lock for real. Two network namespaces joined by a veth pair stand for a pod and a host outside it
 * (IPv4 and IPv6); the lock script runs in the "pod" as the init container would; the real sidecar (the shaded
 * jar, started through the image's entry point with the image's JVM flags) runs there as the image's UID, and
 * curl plays the agent as another UID. Needs root (CI has it); skipped, saying so, where the machine does not
 * permit network namespaces. The namespaces and processes are removed afterwards, whatever happened.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EgressLockNetnsTest {
    private static final String UP4 = "10.251.0.1";
    private static final String POD4 = "10.251.0.2";
    private static final String UP6 = "fd7a:7467::1";
    private static final String POD6 = "fd7a:7467::2";
    /** How the upstream (Java) prints the pod's IPv6 address. */
    private static final String POD6_SEEN = "fd7a:7467:0:0:0:0:0:2";
    private static final int AGENT_UID = 1000;
    private static final Pattern OURS = Pattern.compile("^(tgpod|tgup)-(\\d+)(?:\\s.*)?$");

    private static final String IP = Objects.requireNonNullElse(Commands.which("ip"), "ip");

    private final int sidecarUid = Image.facts().uid();
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private String pod;
    private String up;
    private Path work;
    private final List<String> rulesAfterEachRun = new ArrayList<>();

    @BeforeAll
    void createPodAndUpstream() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")) || uid() == 0,
                "skipped: creating network namespaces needs root (CI runs as root)");
        for (String tool : List.of("ip", "iptables", "ip6tables", "iptables-restore", "ip6tables-restore", "setpriv",
                "curl", "bash")) {
            assertThat(Commands.available(tool)).as("%s is installed (.ci/run installs iproute2, iptables, curl)", tool)
                    .isTrue();
        }
        removeStaleNamespaces();
        long pid = ProcessHandle.current().pid();
        up = "tgup-" + pid;
        pod = "tgpod-" + pid;
        Commands.Result add = Commands.run(List.of(IP, "netns", "add", up));
        if (add.exit() != 0) {
            assumeTrue(!add.err().matches("(?s).*(Operation not permitted|Permission denied).*"),
                    "skipped: this machine does not permit network namespaces: " + add.err().strip());
            add.requireSuccess();
        }
        namespaces.add(up);
        sh(IP, "netns", "add", pod);
        namespaces.add(pod);
        sh(IP, "-n", pod, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", up);
        for (String[] host : new String[][] {{up, UP4, UP6}, {pod, POD4, POD6}}) {
            sh(IP, "-n", host[0], "link", "set", "lo", "up");
            sh(IP, "-n", host[0], "addr", "add", host[1] + "/24", "dev", "eth0");
            sh(IP, "-n", host[0], "addr", "add", host[2] + "/64", "dev", "eth0", "nodad");
            sh(IP, "-n", host[0], "link", "set", "eth0", "up");
        }

        // The upstream host: HTTP on 8080, and on 53 standing in for a DNS resolver (TCP); datagram echoes on 53
        // (a resolver) and 5353; on 8081 HTTP that resets a request for /reset.
        String testClasses = Path.of(UpstreamServer.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
        Process upstream = start(List.of(IP, "netns", "exec", up, javaBin(), "-cp", testClasses,
                UpstreamServer.class.getName(), "8080", "53", "udp:53", "udp:5353", "reset:8081"), Map.of());
        awaitLine(upstream.inputReader(StandardCharsets.UTF_8), "ready", upstream, "upstream");

        // The lock, applied twice as a restarted init container would: the same rules both times.
        for (int i = 0; i < 2; i++) {
            sh(IP, "netns", "exec", pod, Repo.path("deploy/egress-lock/toolgate-egress-lock").toString(),
                    "--uid", String.valueOf(sidecarUid), "--dns-server", UP4);
            rulesAfterEachRun.add(sh(IP, "netns", "exec", pod, Commands.which("iptables"), "-S").out()
                    + sh(IP, "netns", "exec", pod, Commands.which("ip6tables"), "-S").out());
        }

        startSidecar();
    }

    @AfterAll
    void removeEverything() throws Exception {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        for (String ns : namespaces) {
            deleteNamespace(ns);
        }
        if (work != null) {
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    void theAgentCannotLeaveThePodAndLearnsItAtOnce() {
        for (String url : List.of("http://" + UP4 + ":8080/", "http://[" + UP6 + "]:8080/")) {
            Commands.Result r = curlAs(AGENT_UID, url);
            assertThat(r.exit()).as("agent -> %s: %s", url, r.err()).isEqualTo(7); // could not connect
            assertThat(r.err()).contains("Couldn't connect to server");
            assertThat(r.millis()).as("refused at once, not timed out").isLessThan(1500);
        }
    }

    @Test
    void rootInThePodIsRefusedToo() {
        for (String url : List.of("http://" + UP4 + ":8080/", "http://[" + UP6 + "]:8080/")) {
            assertThat(curlAs(0, url).exit()).as("root -> %s", url).isEqualTo(7);
        }
    }

    @Test
    void theAgentCannotSendDatagramsEither() {
        Commands.Result agent = netnsAs(AGENT_UID, "bash", "-c", "echo leak > /dev/udp/" + UP4 + "/9999");
        assertThat(agent.exit()).isNotZero();
        assertThat(agent.err()).contains("Operation not permitted");
        Commands.Result agent6 = netnsAs(AGENT_UID, "bash", "-c", "echo leak > /dev/udp/" + UP6 + "/9999");
        assertThat(agent6.err()).contains("Operation not permitted");
        assertThat(netnsAs(sidecarUid, "bash", "-c", "echo ok > /dev/udp/" + UP4 + "/9999").exit()).isZero();
    }

    @Test
    void theSidecarsUidGoesOutOverIpv4AndIpv6() throws Exception {
        Commands.Result v4 = curlAs(sidecarUid, "http://" + UP4 + ":8080/").requireSuccess();
        assertThat(v4.out()).startsWith("upstream saw " + POD4 + " on 8080").endsWith("\n200");
        Commands.Result v6 = curlAs(sidecarUid, "http://[" + UP6 + "]:8080/").requireSuccess();
        assertThat(v6.out()).startsWith("upstream saw " + POD6_SEEN + " on 8080").endsWith("\n200");
        // curl closed first: the kernel acknowledges the upstream's FIN with no process owning the packet. That
        // acknowledgement gets out too, or the upstream would sit in LAST-ACK retransmitting its FIN.
        Thread.sleep(500);
        String lastAck = sh(IP, "netns", "exec", up, "ss", "-Htn", "state", "last-ack").out();
        assertThat(lastAck).as("upstream connections waiting for the pod's last ACK").isBlank();
    }

    /**
     * The side door of a lock that let out any ESTABLISHED packet: the sidecar's UID sends a datagram from port P
     * (as its DNS lookups do), then the agent binds P and sends to the same peer. Its datagram belongs to the
     * sidecar's conntrack entry, so it was "established" and left, and the answer came back. Replies are matched by
     * direction now: a packet that goes the way the flow was opened is judged by its owner.
     */
    @Test
    void theAgentCannotReuseTheSidecarsDatagramFlow() {
        String[][] peers = {{UP4, "5353", "40053"}, {UP6, "53", "40054"}};
        for (String[] peer : peers) {
            String port = peer[2];
            Commands.Result sidecar = datagramAs(sidecarUid, port, peer[0], peer[1], "sidecar");
            assertThat(sidecar.exit()).as(sidecar.describe()).isZero();
            assertThat(sidecar.out()).contains(":" + port + " on udp " + peer[1]);
            Commands.Result agent = datagramAs(AGENT_UID, port, peer[0], peer[1], "agent");
            assertThat(agent.exit()).as("the agent from the sidecar's port %s to %s: %s", port, peer[0],
                    agent.describe()).isEqualTo(1);
            assertThat(agent.err()).contains("Operation not permitted");
        }
    }

    /**
     * The TCP form of the same door: the upstream resets the sidecar's connection from port P; the conntrack entry
     * lingers (CLOSE); the agent binds P and connects to the same peer. Its SYN matched the entry as "established"
     * and the whole connection went through. Now the agent is refused at once.
     */
    @Test
    void theAgentCannotReuseTheSidecarsTcpConnection() {
        String[][] peers = {{"http://" + UP4 + ":8081", "41081"}, {"http://[" + UP6 + "]:8081", "41082"}};
        for (String[] peer : peers) {
            Commands.Result sidecar = curlAs(sidecarUid, "--local-port", peer[1], peer[0] + "/reset");
            assertThat(sidecar.exit()).as("reset by the upstream: %s", sidecar.describe()).isEqualTo(56);
            Commands.Result agent = curlAs(AGENT_UID, "--local-port", peer[1], peer[0] + "/");
            assertThat(agent.exit()).as("the agent from the sidecar's port %s: %s", peer[1], agent.describe())
                    .isEqualTo(7);
            assertThat(agent.out()).doesNotContain("upstream saw");
        }
    }

    @Test
    void theAgentReachesTheUpstreamThroughTheSidecar() {
        String base = "https://127.0.0.1:" + ProductDefaults.agentPort();
        String[] tls = {"--cacert", work.resolve("agent/bundle.pem").toString(),
                "--cert", work.resolve("agent/svid.pem").toString(), "--key", work.resolve("agent/svid.key").toString()};
        // Like any agent, it first starts a task for what it is about to do.
        List<String> start = new ArrayList<>(List.of(tls));
        start.addAll(List.of("-H", "content-type: application/json", "--data", "{\"purpose\":\"egress test\","
                + "\"grants\":[{\"route\":\"up4\",\"operations\":[\"GET /hello\"]},"
                + "{\"route\":\"up6\",\"operations\":[\"GET /hello\"]}]}", base + "/_toolgate/v1/tasks"));
        Commands.Result task = curlAs(AGENT_UID, start.toArray(String[]::new));
        assertThat(task.out()).as(task.describe()).endsWith("\n201");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"token\":\"(tg1\\.[A-Za-z0-9_-]+)\"")
                .matcher(task.out());
        assertThat(m.find()).as(task.out()).isTrue();
        for (String route : List.of("up4", "up6")) {
            String url = base + "/" + route + "/hello";
            List<String> call = new ArrayList<>(List.of(tls));
            call.addAll(List.of("-H", "toolgate-task: " + m.group(1), url));
            Commands.Result r = curlAs(AGENT_UID, call.toArray(String[]::new));
            assertThat(r.exit()).as(r.describe()).isZero();
            String from = route.equals("up4") ? POD4 : POD6_SEEN;
            assertThat(r.out()).as("%s answered by the upstream, reached from the pod", url)
                    .startsWith("upstream saw " + from + " on 8080").endsWith("\n200");
        }
    }

    @Test
    void dnsOnlyToTheConfiguredResolver() {
        // --dns-server 10.251.0.1: port 53 there is open to the agent; the same port over IPv6 is not.
        Commands.Result dns = curlAs(AGENT_UID, "http://" + UP4 + ":53/");
        assertThat(dns.exit()).as(dns.describe()).isZero();
        assertThat(dns.out()).startsWith("upstream saw " + POD4 + " on 53");
        assertThat(curlAs(AGENT_UID, "http://[" + UP6 + "]:53/").exit()).isEqualTo(7);
    }

    @Test
    void applyingTheLockAgainChangesNothing() {
        assertThat(rulesAfterEachRun.get(1)).isEqualTo(rulesAfterEachRun.get(0));
        String rules = rulesAfterEachRun.get(0);
        assertThat(rules.lines().filter(l -> l.equals("-A OUTPUT -j TOOLGATE_EGRESS")))
                .as("one jump per family").hasSize(2);
    }

    // ---- the sidecar

    private void startSidecar() throws Exception {
        work = Files.createTempDirectory("toolgate-netns-");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        DevCa ca = DevCa.openOrCreate(work.resolve("ca"), "toolgate.dev");
        Path sidecar = ca.issueTo(SpiffeId.parse("spiffe://toolgate.dev/toolgate/sidecar"), work.resolve("sidecar"));
        Path agent = ca.issueTo(SpiffeId.parse("spiffe://toolgate.dev/agents/a1"), work.resolve("agent"));
        Files.createDirectories(sidecar.resolve("audit"));
        Files.writeString(sidecar.resolve("toolgate.yaml"), """
                listener:
                  address: 127.0.0.1
                identity:
                  source: files
                  certificate: svid.pem
                  key: svid.key
                  bundle: bundle.pem
                audit:
                  file: audit/audit.jsonl
                routes:
                  - routes.yaml
                policies:
                  - policies.yaml
                """);
        Files.writeString(sidecar.resolve("policies.yaml"), """
                kind: Policy
                name: egress-test
                subjects: ["spiffe://toolgate.dev/agents/a1"]
                allow:
                  - {name: up4, route: up4, operations: ["GET /hello"]}
                  - {name: up6, route: up6, operations: ["GET /hello"]}
                """);
        Files.writeString(sidecar.resolve("routes.yaml"), """
                routes:
                  - name: up4
                    prefix: /up4
                    upstream:
                      url: http://%s:8080
                  - name: up6
                    prefix: /up6
                    upstream:
                      url: http://[%s]:8080
                """.formatted(UP4, UP6));
        sh("chown", "-R", sidecarUid + ":" + sidecarUid, sidecar.toString());
        sh("chown", "-R", AGENT_UID + ":" + AGENT_UID, agent.toString());
        // The jar and the entry point where the sidecar's UID can read them (the build tree may not be).
        Path jar = Files.copy(Repo.toolgateJar(), work.resolve("toolgate.jar"), StandardCopyOption.REPLACE_EXISTING);
        Path entrypoint = Files.copy(Repo.path("deploy/docker/entrypoint.sh"), work.resolve("entrypoint.sh"));
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        String probe = DatagramProbe.class.getName().replace('.', '/') + ".class";
        Path probeClass = work.resolve("classes").resolve(probe);
        Files.createDirectories(probeClass.getParent());
        Files.copy(Path.of(DatagramProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve(probe), probeClass);
        sh("chmod", "-R", "a+rX", work.resolve("classes").toString());
        Files.setPosixFilePermissions(entrypoint, PosixFilePermissions.fromString("rwxr-xr-x"));

        Process p = start(List.of(IP, "netns", "exec", pod, "setpriv", "--reuid=" + sidecarUid,
                "--regid=" + sidecarUid, "--clear-groups", entrypoint.toString(),
                "run", "--config", sidecar.resolve("toolgate.yaml").toString()), Map.of(
                "TOOLGATE_JAR", jar.toString(),
                "TOOLGATE_JAVA_OPTS", Image.facts().javaOpts(),
                "TOOLGATE_WAIT_FOR", sidecar.resolve("svid.pem") + " " + sidecar.resolve("svid.key"),
                "HOME", work.toString(),
                "PATH", Path.of(javaBin()).getParent() + ":/usr/sbin:/usr/bin:/sbin:/bin"));
        awaitLine(p.errorReader(StandardCharsets.UTF_8), "toolgate: serving agents on", p, "sidecar");
    }

    // ---- helpers

    private Commands.Result datagramAs(int uid, String localPort, String host, String port, String message) {
        return netnsAs(uid, javaBin(), "-cp", work.resolve("classes").toString(), DatagramProbe.class.getName(),
                localPort, host, port, message);
    }

    private Commands.Result curlAs(int uid, String... args) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}"));
        cmd.addAll(List.of(args));
        return netnsAs(uid, cmd.toArray(String[]::new));
    }

    private Commands.Result netnsAs(int uid, String... command) {
        List<String> cmd = new ArrayList<>(List.of(IP, "netns", "exec", pod, "setpriv", "--reuid=" + uid,
                "--regid=" + uid, "--clear-groups"));
        cmd.addAll(List.of(command));
        return Commands.run(cmd, Map.of(), null, Duration.ofSeconds(15));
    }

    private static Commands.Result sh(String... command) {
        return Commands.run(List.of(command)).requireSuccess();
    }

    private Process start(List<String> command, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    /** Reads {@code in} until a line starts with {@code prefix}; keeps draining it afterwards. */
    private static void awaitLine(BufferedReader in, String prefix, Process p, String what) throws Exception {
        StringBuilder seen = new StringBuilder();
        CompletableFuture<Void> found = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (in) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (seen) {
                        seen.append(line).append('\n');
                    }
                    if (line.startsWith(prefix)) {
                        found.complete(null);
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
            found.completeExceptionally(new IllegalStateException(what + " ended"));
        }, what + "-output");
        reader.setDaemon(true);
        reader.start();
        try {
            found.get(30, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            String state = p.isAlive() ? "still running" : "exit " + p.waitFor();
            synchronized (seen) {
                throw new AssertionError(what + " did not start (" + state + "); it printed:\n" + seen, e);
            }
        }
    }

    private void removeStaleNamespaces() {
        for (String line : sh(IP, "netns", "list").out().split("\n")) {
            Matcher m = OURS.matcher(line.strip());
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(2))).isEmpty()) {
                deleteNamespace(line.strip().split("\\s")[0]); // left by a run of this test that was killed
            }
        }
    }

    private static void deleteNamespace(String ns) {
        // Only processes this test started run in its namespaces.
        for (String pid : Commands.run(List.of(IP, "netns", "pids", ns)).out().split("\\s+")) {
            if (!pid.isBlank()) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        Commands.run(List.of(IP, "netns", "del", ns));
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static long uid() {
        try {
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
    }
}
