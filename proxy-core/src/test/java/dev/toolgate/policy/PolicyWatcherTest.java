package dev.toolgate.policy;

import static dev.toolgate.policy.Fixtures.RESEARCH;
import static dev.toolgate.policy.Fixtures.ROUTES;
import static dev.toolgate.policy.Fixtures.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyWatcherTest {
    /** Long enough that only the test's own poll() calls run. */
    private static final Duration MANUAL = Duration.ofHours(1);

    @TempDir
    Path dir;

    private PolicyWatcher watcher;
    private final List<String> events = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        if (watcher != null) {
            watcher.close();
        }
    }

    private PolicyWatcher start(Duration interval) throws Exception {
        watcher = PolicyWatcher.start(List.of(dir.resolve("policies")), ROUTES, interval);
        watcher.addListener(new PolicyWatcher.Listener() {
            @Override
            public void reloaded(PolicySet policy) {
                events.add("reloaded " + policy.version());
            }

            @Override
            public void failed(PolicyException error) {
                events.add("failed " + error.getMessage());
            }
        });
        return watcher;
    }

    /** Rewrites a file so that its modification time surely differs, whatever the file system's granularity. */
    private static void rewrite(Path file, String yaml) throws Exception {
        FileTime before = Files.getLastModifiedTime(file);
        Files.writeString(file, yaml);
        Files.setLastModifiedTime(file, FileTime.fromMillis(before.toMillis() + 2000));
    }

    @Test
    void aValidChangeIsSwappedIn() throws Exception {
        Path file = write(dir, "policies/research.yaml", RESEARCH);
        PolicyWatcher w = start(MANUAL);
        PolicySet first = w.current();
        assertThat(w.poll()).as("nothing changed").isFalse();
        assertThat(w.current()).isSameAs(first);

        rewrite(file, RESEARCH.replace("maxTtl: 1h", "maxTtl: 10m"));
        assertThat(w.poll()).isTrue();
        assertThat(w.current().version()).isNotEqualTo(first.version());
        assertThat(w.current().maxTtl(Fixtures.RESEARCHER, "weather", List.of("GET /forecast/x")))
                .isEqualTo(Duration.ofMinutes(10));
        assertThat(w.failures()).isZero();
        assertThat(events).containsExactly("reloaded " + w.current().version());
    }

    @Test
    void aBrokenFileKeepsTheOldSetAndCountsAFailure() throws Exception {
        Path file = write(dir, "policies/research.yaml", RESEARCH);
        PolicyWatcher w = start(MANUAL);
        PolicySet good = w.current();

        rewrite(file, RESEARCH.replace("route: weather", "route: wether"));
        assertThat(w.poll()).isFalse();
        assertThat(w.current()).isSameAs(good);
        assertThat(w.failures()).isEqualTo(1);
        assertThat(events).singleElement().asString()
                .startsWith("failed " + file + ":15: allow[2].route: \"wether\" is not a configured route");

        assertThat(w.poll()).as("the same broken file is not counted again").isFalse();
        assertThat(w.failures()).isEqualTo(1);

        rewrite(file, RESEARCH.replace("maxTtl: 1h", "maxTtl: 2h"));
        assertThat(w.poll()).isTrue();
        assertThat(w.current().version()).isNotEqualTo(good.version());
    }

    @Test
    void aNewBrokenFileBesideAGoodOneRefusesTheSet() throws Exception {
        write(dir, "policies/a.yaml", RESEARCH);
        PolicyWatcher w = start(MANUAL);
        PolicySet good = w.current();
        write(dir, "policies/b.yaml", "kind: Policy\nname: b\nsubjects: [\"spiffe://acme.dev/x\"]\nallow: 3\n");
        assertThat(w.poll()).isFalse();
        assertThat(w.current()).isSameAs(good);
        assertThat(w.failures()).isEqualTo(1);
        assertThat(events.get(0)).contains("b.yaml:4: allow:");
    }

    @Test
    void removingTheDirectoryIsAFailureThatKeepsTheSet() throws Exception {
        Path file = write(dir, "policies/a.yaml", RESEARCH);
        PolicyWatcher w = start(MANUAL);
        PolicySet good = w.current();
        Files.delete(file);
        Files.delete(dir.resolve("policies"));
        assertThat(w.poll()).isFalse();
        assertThat(w.current()).isSameAs(good);
        assertThat(w.failures()).isEqualTo(1);
    }

    @Test
    void aConfigMapSymlinkSwapIsSeen() throws Exception {
        // Kubernetes mounts a ConfigMap as: name -> ..data/name, ..data -> ..<timestamp>/ (swapped atomically).
        Path policies = Files.createDirectories(dir.resolve("policies"));
        write(policies, "..v1/research.yaml", RESEARCH);
        write(policies, "..v2/research.yaml", RESEARCH.replace("maxTtl: 1h", "maxTtl: 5m"));
        Files.createSymbolicLink(policies.resolve("..data"), Path.of("..v1"));
        Files.createSymbolicLink(policies.resolve("research.yaml"), Path.of("..data/research.yaml"));
        PolicyWatcher w = start(MANUAL);
        String v1 = w.current().version();

        Files.createSymbolicLink(policies.resolve("..data_tmp"), Path.of("..v2"));
        Files.move(policies.resolve("..data_tmp"), policies.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
        assertThat(w.poll()).isTrue();
        assertThat(w.current().version()).isNotEqualTo(v1);
        assertThat(w.current().maxTtl(Fixtures.RESEARCHER, "weather", List.of("GET /forecast/x")))
                .isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void aPolicyThatDoesNotLoadAtStartIsAnError() throws Exception {
        write(dir, "policies/a.yaml", "kind: Nope\n");
        assertThatThrownBy(() -> start(MANUAL)).isInstanceOf(PolicyException.class).hasMessageContaining("kind");
        assertThatThrownBy(() -> PolicyWatcher.start(List.of(dir.resolve("nowhere")), ROUTES, MANUAL))
                .isInstanceOf(PolicyException.class).hasMessageContaining("not found");
    }

    @Test
    void newRoutesRecompileOrAreRefused() throws Exception {
        write(dir, "policies/a.yaml", RESEARCH);
        PolicyWatcher w = start(MANUAL);
        PolicySet good = w.current();
        assertThatThrownBy(() -> w.updateRoutes(ROUTES.subList(0, 2)))
                .isInstanceOf(PolicyException.class).hasMessageContaining("\"crm\" is not a configured route");
        assertThat(w.current()).isSameAs(good);
        w.updateRoutes(ROUTES);
        assertThat(w.current().version()).isEqualTo(good.version());
    }

    @Test
    void theBackgroundPollerReloads() throws Exception {
        Path file = write(dir, "policies/research.yaml", RESEARCH);
        PolicyWatcher w = start(Duration.ofMillis(10));
        CountDownLatch reloaded = new CountDownLatch(1);
        w.addListener(new PolicyWatcher.Listener() {
            @Override
            public void reloaded(PolicySet policy) {
                reloaded.countDown();
            }
        });
        rewrite(file, RESEARCH.replace("maxTtl: 1h", "maxTtl: 7m"));
        assertThat(reloaded.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(w.current().maxTtl(Fixtures.RESEARCHER, "weather", List.of("GET /forecast/x")))
                .isEqualTo(Duration.ofMinutes(7));
    }
}
