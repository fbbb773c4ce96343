package dev.toolgate.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.testing.ManualClock;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link TaskStore} must do, seen through the {@link TaskRegistry} over it as an agent or operator would
 * see it: a started task's token works, an ended or revoked one does not, delegation and its cascades, budgets,
 * expiry, what a reopen keeps, and concurrent writers. A store implementation passes it by subclassing and saying
 * how to open (and reopen) a store in a directory and whether it is durable.
 */
public abstract class TaskStoreContract {
    protected static final SpiffeId AGENT = SpiffeId.parse("spiffe://toolgate.test/agents/researcher");
    protected static final SpiffeId HELPER = SpiffeId.parse("spiffe://toolgate.test/agents/helper");
    protected static final SpiffeId ADMIN = SpiffeId.parse("spiffe://toolgate.test/ops/admin");
    private static final TasksConfig CONFIG = new TasksConfig(null, null, Duration.ofMinutes(15),
            Duration.ofHours(1), 2, 1000);
    private static final AccessConfig ACCESS = AccessConfig.defaults()
            .withOrchestrators(List.of("spiffe://toolgate.test/orchestrators/*"))
            .withAdmins(List.of("spiffe://toolgate.test/ops/admin"));

    @TempDir
    protected Path dir;
    protected final ManualClock clock = new ManualClock();
    private final List<TaskRegistry> opened = new ArrayList<>();

    /** Opens the store kept in {@code dir}; a second call after the first store was closed reopens it. */
    protected abstract TaskStore open(Path dir) throws IOException;

    /** Whether what was appended survives closing and reopening the store. */
    protected abstract boolean durable();

    @AfterEach
    void closeAll() throws IOException {
        for (TaskRegistry r : opened) {
            r.close();
        }
    }

    private TaskRegistry registry() throws IOException {
        TaskRegistry r = TaskRegistry.open(CONFIG, ACCESS, open(dir), Set.of("weather", "crm"), clock, clock, TaskAudit.NONE);
        opened.add(r);
        return r;
    }

    private static GrantRequest grant(String route, Long budget, String... ops) {
        return new GrantRequest(route, List.of(ops), null, budget, null);
    }

    private static StartRequest start(GrantRequest... grants) {
        return new StartRequest(null, "summarize the weather", Duration.ofMinutes(30), List.of(grants));
    }

    private static StartRequest delegate(GrantRequest... grants) {
        return new StartRequest(HELPER, "forecast for oslo", null, List.of(grants));
    }

    private boolean works(TaskRegistry r, String token, String route, String operation) {
        LiveTask t = r.find(token);
        return t != null && t.state(clock.millis()) == TaskState.ACTIVE && t.holds(route, operation, clock.millis());
    }

    @Test
    void aStartedTaskIsFoundByItsTokenAndNoOtherTokenWorks() throws Exception {
        TaskRegistry r = registry();
        TaskRegistry.Started s = r.start(AGENT, start(grant("weather", null, "GET /forecast/**")));
        assertThat(works(r, s.token(), "weather", "GET /forecast/oslo")).isTrue();
        assertThat(works(r, s.token(), "weather", "DELETE /forecast/oslo")).isFalse();
        assertThat(r.find(s.token()).task().tokenHash()).isEqualTo(TaskToken.hash(s.token()));
        assertThat(r.find(TaskToken.mint())).isNull();
        assertThat(r.get(AGENT, s.task().task().id())).isSameAs(s.task());
    }

    @Test
    void aDelegatedTaskWorksWithinItsParentOnly() throws Exception {
        TaskRegistry r = registry();
        TaskRegistry.Started parent = r.start(AGENT, start(grant("weather", null, "GET /forecast/**")));
        TaskRegistry.Started child = r.delegate(AGENT, parent.token(), delegate(grant("weather", null,
                "GET /forecast/oslo")));
        assertThat(works(r, child.token(), "weather", "GET /forecast/oslo")).isTrue();
        assertThat(works(r, child.token(), "weather", "GET /forecast/bergen")).isFalse();
        assertThat(r.find(child.token()).task().parentId()).isEqualTo(parent.task().task().id());
        assertThatThrownBy(() -> r.delegate(AGENT, parent.token(), delegate(grant("crm", null, "GET /customers"))))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.INVALID_ARGUMENT))
                .hasMessageContaining("not within the parent task");
    }

    @Test
    void endingATaskRefusesItsTokenAndItsChildrensAtOnce() throws Exception {
        TaskRegistry r = registry();
        TaskRegistry.Started parent = r.start(AGENT, start(grant("weather", null, "GET /forecast/**")));
        TaskRegistry.Started child = r.delegate(AGENT, parent.token(), delegate(grant("weather", null,
                "GET /forecast/oslo")));
        r.end(AGENT, parent.task().task().id(), "done");
        assertThat(works(r, parent.token(), "weather", "GET /forecast/oslo")).isFalse();
        assertThat(works(r, child.token(), "weather", "GET /forecast/oslo")).isFalse();
        assertThat(r.find(parent.token()).state(clock.millis())).isEqualTo(TaskState.ENDED);
        assertThat(r.find(child.token()).state(clock.millis())).isEqualTo(TaskState.REVOKED);
        assertThatThrownBy(() -> r.end(AGENT, parent.task().task().id(), "again"))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.FAILED_PRECONDITION));
    }

    @Test
    void aRevokedTasksTokenIsRefusedAndOnlyItsOwnerOrAnAdminMayRevoke() throws Exception {
        TaskRegistry r = registry();
        TaskRegistry.Started s = r.start(AGENT, start(grant("weather", null, "GET /forecast/**")));
        String id = s.task().task().id();
        assertThatThrownBy(() -> r.revoke(HELPER, id, "not mine"))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.NOT_FOUND));
        assertThat(works(r, s.token(), "weather", "GET /forecast/oslo")).isTrue();
        r.revoke(ADMIN, id, "incident");
        assertThat(works(r, s.token(), "weather", "GET /forecast/oslo")).isFalse();
        assertThat(r.find(s.token()).state(clock.millis())).isEqualTo(TaskState.REVOKED);
    }

    @Test
    void aRevokedGrantStopsWorkingWhileTheTasksOtherGrantsGoOn() throws Exception {
        TaskRegistry r = registry();
        TaskRegistry.Started s = r.start(AGENT, start(grant("weather", null, "GET /forecast/**"),
                grant("crm", null, "GET /customers/*")));
        r.revokeGrant(AGENT, s.task().task().id(), "g2", "no crm");
        assertThat(works(r, s.token(), "crm", "GET /customers/42")).isFalse();
        assertThat(works(r, s.token(), "weather", "GET /forecast/oslo")).isTrue();
    }

    @Test
    void aBudgetAllowsExactlyItsCallsAndBoundsWhatMayBeDelegated() throws Exception {
        TaskRegistry r = registry();
        TaskRegistry.Started s = r.start(AGENT, start(grant("weather", 3L, "GET /forecast/**")));
        LiveGrant g = r.find(s.token()).grant("g1");
        assertThat(g.trySpend()).isTrue();
        assertThatThrownBy(() -> r.delegate(AGENT, s.token(), delegate(grant("weather", 3L, "GET /forecast/oslo"))))
                .isInstanceOf(TaskException.class)
                .hasMessageContaining("exceeds the 2 calls left");
        assertThat(g.trySpend()).isTrue();
        assertThat(g.trySpend()).isTrue();
        assertThat(g.trySpend()).isFalse();
        assertThat(g.remaining()).isZero();
    }

    @Test
    void whatWasRecordedSurvivesAReopenWhenTheStoreIsDurable() throws Exception {
        TaskRegistry r = registry();
        TaskRegistry.Started parent = r.start(AGENT, start(grant("weather", null, "GET /forecast/**"),
                grant("crm", null, "GET /customers/*")));
        TaskRegistry.Started child = r.delegate(AGENT, parent.token(), delegate(grant("weather", null,
                "GET /forecast/oslo")));
        TaskRegistry.Started ended = r.start(AGENT, start(grant("weather", null, "GET /x")));
        r.revokeGrant(AGENT, parent.task().task().id(), "g2", "no crm");
        r.end(AGENT, ended.task().task().id(), "done");
        r.close();
        opened.remove(r);

        TaskRegistry again = registry();
        if (!durable()) {
            // Nothing kept: every token of the old process stops working.
            assertThat(again.find(parent.token())).isNull();
            assertThat(again.find(child.token())).isNull();
            return;
        }
        assertThat(works(again, parent.token(), "weather", "GET /forecast/bergen")).isTrue();
        assertThat(works(again, parent.token(), "crm", "GET /customers/42")).isFalse();
        assertThat(works(again, child.token(), "weather", "GET /forecast/oslo")).isTrue();
        assertThat(works(again, ended.token(), "weather", "GET /x")).isFalse();
        assertThat(again.find(ended.token()).state(clock.millis())).isEqualTo(TaskState.ENDED);
        // A restored parent still cascades, and the change is recorded after the reopened revision.
        again.revoke(ADMIN, parent.task().task().id(), "incident");
        assertThat(works(again, child.token(), "weather", "GET /forecast/oslo")).isFalse();
    }

    @Test
    void anExpiredTaskIsRefusedAndLaterForgotten() throws Exception {
        TaskRegistry r = registry();
        TaskRegistry.Started s = r.start(AGENT, start(grant("weather", null, "GET /forecast/**")));
        clock.advance(Duration.ofMinutes(31));
        assertThat(works(r, s.token(), "weather", "GET /forecast/oslo")).isFalse();
        assertThat(r.find(s.token()).state(clock.millis())).isEqualTo(TaskState.EXPIRED);
        clock.advance(TaskIndex.RETAIN);
        r.start(AGENT, start(grant("weather", null, "GET /x"))); // a start sweeps what expired long ago
        assertThat(r.find(s.token())).isNull();
    }

    @Test
    void concurrentWritersEachGetTheirChangeRecordedOnce() throws Exception {
        TaskRegistry r = registry();
        int threads = 4;
        int perThread = 25;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        Set<String> tokens = ConcurrentHashMap.newKeySet();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        TaskRegistry.Started s = r.start(AGENT, start(grant("weather", null, "GET /x")));
                        if (i % 2 == 0) {
                            r.end(AGENT, s.task().task().id(), "done");
                        } else {
                            tokens.add(s.token());
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(tokens).hasSize(threads * (perThread / 2));
        assertThat(tokens).allSatisfy(token -> assertThat(works(r, token, "weather", "GET /x")).isTrue());
        assertThat(r.list(ADMIN, null, TaskState.ENDED)).hasSize(threads * (perThread - perThread / 2));
        if (durable()) {
            r.close();
            opened.remove(r);
            TaskRegistry again = registry();
            assertThat(tokens).allSatisfy(token -> assertThat(works(again, token, "weather", "GET /x")).isTrue());
            assertThat(again.list(ADMIN, null, TaskState.ENDED)).hasSize(threads * (perThread - perThread / 2));
        }
    }

    @Test
    void concurrentAppendsGetDistinctIncreasingRevisions() throws Exception {
        try (TaskStore store = open(dir)) {
            assertThat(store.load().revision()).isZero();
            int threads = 4;
            int perThread = 50;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            Set<Long> revisions = ConcurrentHashMap.newKeySet();
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < perThread; i++) {
                            revisions.add(store.append(new TaskEvent.Ended(Instant.EPOCH, "t-" + i, TaskState.ENDED,
                                    ADMIN.uri(), "")));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(30, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(revisions).hasSize(threads * perThread);
            assertThat(store.revision()).isEqualTo(threads * perThread);
        }
    }

    @Test
    void aClosedStoreRefusesAppendsAndReportsUnhealthy() throws Exception {
        TaskStore store = open(dir);
        store.load();
        assertThat(store.healthy()).isTrue();
        store.close();
        store.close(); // idempotent
        assertThat(store.healthy()).isFalse();
        assertThatThrownBy(() -> store.append(new TaskEvent.Ended(Instant.EPOCH, "t-1", TaskState.ENDED,
                ADMIN.uri(), ""))).isInstanceOf(IOException.class);
    }

    @Test
    void aReopenedStoreLoadsAtTheRevisionItReachedWhenDurable() throws Exception {
        TaskRegistry r = registry();
        r.start(AGENT, start(grant("weather", null, "GET /x")));
        r.start(AGENT, start(grant("weather", null, "GET /x")));
        r.close();
        opened.remove(r);
        try (TaskStore store = open(dir)) {
            TaskStore.Snapshot s = store.load();
            assertThat(s.revision()).isEqualTo(durable() ? 2 : 0);
            assertThat(s.events()).hasSize(durable() ? 2 : 0);
            assertThat(store.append(new TaskEvent.Ended(Instant.EPOCH, "t-1", TaskState.ENDED, ADMIN.uri(), "")))
                    .isEqualTo(s.revision() + 1);
        }
    }
}
