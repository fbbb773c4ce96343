package dev.toolgate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.JdkSslContexts;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit promise under the worst of faults, as an operator would meet it: the sidecar process writes its audit
 * file on a small real filesystem (a 160 KiB tmpfs; mounting one needs root, which CI has) that its own load fills,
 * calls go on against the full disk, and the process is killed with SIGKILL in the middle of the episode. Every call
 * the upstream received must have its decision record in the file: "nothing is forwarded before its decision record
 * is written" holds with no clean shutdown at all.
 */
class AuditCrashOnFullDiskTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private Path mnt;
    private boolean mounted;

    @BeforeEach
    void mountTmpfs() throws Exception {
        mnt = Files.createDirectory(dir.resolve("mnt"));
        mounted = run("mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", mnt.toString());
        Assumptions.assumeTrue(mounted, "cannot mount a tmpfs here (needs root and permission to mount)");
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            assertThat(run("umount", mnt.toString()) || run("umount", "-l", mnt.toString())).isTrue();
        }
    }

    @Test
    void killedDuringAFullDiskNoForwardedCallLacksItsDecisionRecord() throws Exception {
        try (TestUpstream upstream = TestUpstream.start()) {
            SidecarProcess sidecar = SidecarProcess.launch(writeConfig(upstream.url()));
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger unavailable = new AtomicInteger();
            AtomicInteger next = new AtomicInteger();
            List<Thread> load = new ArrayList<>();
            try {
                HttpClient agent = agentClient();
                String token = sidecar.post(agent, "/_toolgate/v1/tasks", """
                        {"purpose":"fill the disk","grants":[{"route":"weather","operations":["GET /**"]}]}""")
                        .path("token").asText();
                for (int i = 0; i < 16; i++) {
                    load.add(caller(sidecar, agent, token, running, next, ok, unavailable));
                }
                load.forEach(Thread::start);
                // The calls' own records fill the disk; then calls go on against it for a while.
                Await.until("the disk full and calls refused 503", Duration.ofSeconds(60),
                        () -> unavailable.get() >= 20);
            } finally {
                sidecar.kill();
                running.set(false);
            }
            for (Thread t : load) {
                t.join(TimeUnit.SECONDS.toMillis(20));
            }
            assertThat(ok.get()).as("calls forwarded before the disk filled").isPositive();

            Set<String> decided = new HashSet<>();
            for (String line : wholeLines(mnt.resolve("audit.jsonl"))) {
                JsonNode r = JSON.readTree(line);
                if ("decision".equals(r.path("phase").asText()) && "allow".equals(r.path("decision").asText())) {
                    decided.add(r.path("operation").asText());
                }
            }
            Set<String> forwarded = new HashSet<>();
            for (TestUpstream.Seen seen : upstream.requests) {
                forwarded.add("GET /api/weather" + seen.uri());
            }
            assertThat(forwarded).isNotEmpty();
            assertThat(decided).as("every call the upstream received has its decision record in the file")
                    .containsAll(forwarded);
        }
    }

    /** A caller that sends GETs with unique paths one after another until stopped, counting 200s and 503s. */
    private static Thread caller(SidecarProcess sidecar, HttpClient agent, String token, AtomicBoolean running,
                                 AtomicInteger next, AtomicInteger ok, AtomicInteger unavailable) {
        Thread t = new Thread(() -> {
            while (running.get()) {
                try {
                    HttpResponse<String> res = agent.send(HttpRequest.newBuilder(URI.create(
                                    "https://127.0.0.1:" + sidecar.port() + "/api/weather/c" + next.incrementAndGet()))
                            .timeout(Duration.ofSeconds(10)).header("toolgate-task", token).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (res.statusCode() == 200) {
                        ok.incrementAndGet();
                    } else if (res.statusCode() == 503) {
                        unavailable.incrementAndGet();
                    }
                } catch (IOException e) {
                    // The sidecar was killed under this call.
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "caller");
        t.setDaemon(true);
        return t;
    }

    /** The file's lines that end in a line break (a write the kill cut short is not a record). */
    private static List<String> wholeLines(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        int end = text.lastIndexOf('\n');
        return end < 0 ? List.of() : text.substring(0, end).lines().toList();
    }

    private Path writeConfig(String upstreamUrl) throws IOException {
        Files.writeString(dir.resolve("routes.yaml"), """
                routes:
                  - name: weather
                    prefix: /api/weather
                    upstream: {url: %s}
                """.formatted(upstreamUrl));
        return Files.writeString(dir.resolve("sidecar.yaml"), """
                listener: {port: 0}
                admin: {port: 0}
                control: {port: 0}
                identity: {source: dev, trustDomain: %s, spiffeId: %s, stateDir: ca}
                audit: {file: mnt/audit.jsonl}
                tasks: {journal: tasks.journal}
                routes: [routes.yaml]
                unrestrictedWithoutPolicy: true
                """.formatted(TestPki.TRUST_DOMAIN, TestPki.SIDECAR.uri()));
    }

    private HttpClient agentClient() throws Exception {
        DevCa ca = DevCa.openOrCreate(dir.resolve("ca"), TestPki.TRUST_DOMAIN);
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(JdkSslContexts.client(ca.issue(TestPki.AGENT), ca.bundles())).build();
    }

    private static boolean run(String... command) throws Exception {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }
}
