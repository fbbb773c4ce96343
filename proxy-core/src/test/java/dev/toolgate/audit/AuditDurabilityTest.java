package dev.toolgate.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.FailingAuditSink;
import dev.toolgate.testing.GatedAuditSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durable before forward: a caller waiting on its record is told only once the record's batch is in the sink (and
 * synced, as {@code audit.fsync} says), told "not written" at once when the sink fails or hangs, and the file then
 * says which records reached it only after their callers were refused. Callers of one batch on one executor are
 * woken with one task.
 */
class AuditDurabilityTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static AuditRecord decision(int i) {
        return AuditRecord.decision(Instant.parse("2026-12-08T10:00:00.123456Z").plusSeconds(i), "d" + i, null, null,
                "spiffe://toolgate.test/agents/a", "weather", "http", "GET /api/weather/" + i, "allow", "ALLOW",
                "route matched", "enforce", 12);
    }

    /** Records every outcome its waiters were told, by decision id. */
    private static final class Told {
        final Map<String, Boolean> byId = new ConcurrentHashMap<>();

        AuditTrail.Durable waiter(String id) {
            return written -> byId.put(id, written);
        }
    }

    /**
     * An executor that numbers the tasks it is given and runs them on one thread (an event loop's shape); a waiter
     * notes which task told it ({@link #current}).
     */
    private static final class CountingExecutor implements Executor {
        final AtomicInteger tasks = new AtomicInteger();
        final ExecutorService thread = Executors.newSingleThreadExecutor();
        final ThreadLocal<Integer> current = new ThreadLocal<>();

        @Override
        public void execute(Runnable r) {
            int id = tasks.incrementAndGet();
            thread.execute(() -> {
                current.set(id);
                r.run();
            });
        }
    }

    @Test
    void aWaiterIsToldOnlyOnceItsRecordIsInTheSink() throws Exception {
        GatedAuditSink disk = new GatedAuditSink();
        Told told = new Told();
        CountingExecutor loop = new CountingExecutor();
        try (AuditTrail trail = AuditTrail.start(disk, null, 1000)) {
            assertThat(trail.offer(decision(0), loop, told.waiter("d0"))).isTrue();
            assertThat(disk.held.await(5, TimeUnit.SECONDS)).isTrue();
            // A negative check: only time can show that nobody is told while the write has not returned.
            Thread.sleep(100);
            assertThat(told.byId).isEmpty();
            disk.open();
            Await.until("the waiter told", () -> told.byId.containsKey("d0"));
            assertThat(told.byId).containsEntry("d0", true);
            assertThat(disk.lines).hasSize(1);
        } finally {
            loop.thread.shutdown();
        }
    }

    @Test
    void callersOfOneBatchOnOneEventLoopAreWokenWithOneTask() throws Exception {
        GatedAuditSink disk = new GatedAuditSink();
        Told told = new Told();
        CountingExecutor loop = new CountingExecutor();
        try (AuditTrail trail = AuditTrail.start(disk, null, 1000)) {
            // The first record holds the writer at the gate; the next 200 gather meanwhile: one batch.
            assertThat(trail.offer(decision(0), loop, told.waiter("d0"))).isTrue();
            assertThat(disk.held.await(5, TimeUnit.SECONDS)).isTrue();
            Set<Integer> tellingTasks = ConcurrentHashMap.newKeySet();
            AtomicInteger toldLater = new AtomicInteger();
            for (int i = 1; i <= 200; i++) {
                assertThat(trail.offer(decision(i), loop, written -> {
                    tellingTasks.add(loop.current.get());
                    toldLater.incrementAndGet();
                })).isTrue();
            }
            disk.open();
            Await.until("every waiter told", () -> told.byId.size() == 1 && toldLater.get() == 200);
            assertThat(told.byId.values()).containsOnly(true);
            assertThat(tellingTasks).as("the 200 gathered behind the first were told by one task").hasSize(1);
        } finally {
            loop.thread.shutdown();
        }
    }

    @Test
    void theRecordsOneLoopHandsOverInOneIterationGoToTheFileInOneBatch() throws Exception {
        SyncCountingSink disk = new SyncCountingSink();
        Told told = new Told();
        ExecutorService loop = Executors.newSingleThreadExecutor();
        try (AuditTrail trail = AuditTrail.start(disk, null, 1000)) {
            // One task on the "event loop" decides 50 calls (one loop iteration reading 50 requests): the writer is
            // woken once, after the task, and writes them with one flush.
            loop.submit(() -> {
                for (int i = 0; i < 50; i++) {
                    assertThat(trail.offer(decision(i), loop, told.waiter("d" + i))).isTrue();
                }
            }).get(10, TimeUnit.SECONDS);
            Await.until("every waiter told", () -> told.byId.size() == 50);
            assertThat(told.byId.values()).containsOnly(true);
            assertThat(disk.flushes.get()).as("one batch, one flush").isEqualTo(1);
        } finally {
            loop.shutdown();
        }
    }

    @Test
    void aFailingSinkTellsEveryWaiterAtOnceAndTheFileLaterSaysTheirRecordsWereWrittenLate() throws Exception {
        FailingAuditSink disk = new FailingAuditSink();
        Told told = new Told();
        try (AuditTrail trail = AuditTrail.start(disk, null, 1000)) {
            disk.fail();
            assertThat(trail.offer(decision(0), Runnable::run, told.waiter("d0"))).isTrue();
            Await.until("the waiter told", () -> told.byId.containsKey("d0"));
            assertThat(told.byId).containsEntry("d0", false);
            assertThat(trail.available()).isFalse();
            assertThat(trail.offer(decision(1), Runnable::run, told.waiter("d1"))).as("refused while failing")
                    .isFalse();
            trail.refused(decision(1));

            disk.recover();
            Await.until("the written_late record", () -> disk.lines.size() == 3);
        }
        List<JsonNode> recs = parse(disk.lines);
        assertThat(recs).extracting(r -> r.path("phase").asText()).containsExactly("decision", "gap", "gap");
        assertThat(recs.get(0).path("decision_id").asText()).isEqualTo("d0");
        assertThat(recs.get(1).path("count").asLong()).as("the refused offer").isEqualTo(1);
        JsonNode late = recs.get(2);
        assertThat(late.path("event").asText()).isEqualTo("written_late");
        assertThat(late.path("count").asLong()).isEqualTo(1);
        assertThat(late.path("reason").asText()).contains("d0").contains("not forwarded");
        assertThat(late.path("first_ts").asText()).isEqualTo("2026-12-08T10:00:00.123456Z");
        assertThat(verify(disk.lines).ok()).isTrue();
    }

    @Test
    void aHungSinkFailsItsWaitersAfterTheBoundAndTheTrailRefusesRecordsMeanwhile() throws Exception {
        GatedAuditSink disk = new GatedAuditSink();
        Told told = new Told();
        try (AuditTrail trail = AuditTrail.start(disk, null, 1000, Clock.systemUTC(), AuditFsync.NEVER,
                Duration.ofSeconds(1), Duration.ofMillis(100))) {
            long t0 = System.nanoTime();
            assertThat(trail.offer(decision(0), Runnable::run, told.waiter("d0"))).isTrue();
            assertThat(disk.held.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(trail.offer(decision(1), Runnable::run, told.waiter("d1"))).isTrue(); // queued behind it
            Await.until("both waiters told", () -> told.byId.size() == 2);
            assertThat(told.byId).containsEntry("d0", false).containsEntry("d1", false);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isGreaterThanOrEqualTo(100);
            assertThat(trail.available()).as("stalled past the bound").isFalse();
            assertThat(trail.offer(decision(2))).isFalse();

            disk.open();
            Await.until("taking records again", trail::available);
            Await.until("the written_late records", () -> disk.lines.size() == 4);
        }
        // Each batch that reached the file after its callers were refused is followed by its written_late record.
        List<JsonNode> recs = parse(disk.lines);
        assertThat(recs).extracting(r -> r.path("event").asText("")).containsExactly("", "written_late", "",
                "written_late");
        assertThat(recs.get(1).path("reason").asText()).contains("d0");
        assertThat(recs.get(3).path("reason").asText()).contains("d1");
        assertThat(verify(disk.lines).ok()).isTrue();
    }

    @Test
    void fsyncBatchSyncsBeforeAnyWaiterIsTold() throws Exception {
        SyncCountingSink disk = new SyncCountingSink();
        try (AuditTrail trail = AuditTrail.start(disk, null, 1000, Clock.systemUTC(), AuditFsync.BATCH,
                Duration.ofSeconds(1), Duration.ofSeconds(2))) {
            for (int i = 0; i < 20; i++) {
                int syncsBefore = disk.syncs.get();
                List<Integer> seen = new CopyOnWriteArrayList<>();
                assertThat(trail.offer(decision(i), Runnable::run, written -> seen.add(disk.syncs.get()))).isTrue();
                Await.until("told", () -> !seen.isEmpty());
                assertThat(seen.get(0)).as("synced before the waiter was told").isGreaterThan(syncsBefore);
            }
        }
    }

    @Test
    void fsyncIntervalSyncsWithinTheIntervalAndNeverDoesNot() throws Exception {
        SyncCountingSink interval = new SyncCountingSink();
        try (AuditTrail trail = AuditTrail.start(interval, null, 1000, Clock.systemUTC(), AuditFsync.INTERVAL,
                Duration.ofMillis(50), Duration.ofSeconds(2))) {
            AtomicInteger told = new AtomicInteger();
            assertThat(trail.offer(decision(0), Runnable::run, written -> told.incrementAndGet())).isTrue();
            Await.until("told", () -> told.get() == 1);
            // The lone record is synced once the interval is up, off the writer thread, without another record.
            Await.until("synced", () -> interval.syncedWritten.get() >= 1);
            assertThat(interval.syncThreads).as("never on the writer thread").doesNotContain("toolgate-audit-writer");
        }
        SyncCountingSink never = new SyncCountingSink();
        AuditTrail trail = AuditTrail.start(never, null, 1000, Clock.systemUTC(), AuditFsync.NEVER,
                Duration.ofMillis(10), Duration.ofSeconds(2));
        AtomicInteger told = new AtomicInteger();
        for (int i = 0; i < 5; i++) {
            assertThat(trail.offer(decision(i), Runnable::run, written -> told.incrementAndGet())).isTrue();
        }
        Await.until("told", () -> told.get() == 5);
        // A negative check: only time can show that no sync comes.
        Thread.sleep(100);
        assertThat(never.syncs.get() + never.syncedWritten.get()).isZero();
        trail.close();
        assertThat(never.syncs.get() + never.syncedWritten.get()).as("not even at close").isZero();
        assertThat(never.lines).hasSize(5);
    }

    @Test
    void writeAndWaitReturnsOnlyOnceTheRecordIsWritten() throws Exception {
        GatedAuditSink disk = new GatedAuditSink();
        try (AuditTrail trail = AuditTrail.start(disk, null, 1000)) {
            ExecutorService caller = Executors.newSingleThreadExecutor();
            try {
                var result = caller.submit(() -> trail.writeAndWait(decision(0), Duration.ofSeconds(10)));
                assertThat(disk.held.await(5, TimeUnit.SECONDS)).isTrue();
                Thread.sleep(50);
                assertThat(result.isDone()).isFalse();
                disk.open();
                assertThat(result.get(10, TimeUnit.SECONDS)).isTrue();
                assertThat(disk.lines).hasSize(1);
            } finally {
                caller.shutdown();
            }
        }
    }

    private static List<JsonNode> parse(List<String> lines) throws IOException {
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String l : lines) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    private AuditVerifier.Result verify(List<String> lines) throws Exception {
        Path file = Files.createTempFile(dir, "audit", ".jsonl");
        Files.write(file, lines);
        return AuditVerifier.verifyFromGenesis(List.of(file));
    }

    /** Keeps lines in memory and counts syncs (what {@code audit.fsync} asks of the file). */
    private static final class SyncCountingSink implements AuditSink {
        final List<String> lines = new CopyOnWriteArrayList<>();
        final AtomicInteger syncs = new AtomicInteger();
        final AtomicInteger syncedWritten = new AtomicInteger();
        final AtomicInteger flushes = new AtomicInteger();
        final List<String> syncThreads = new CopyOnWriteArrayList<>();

        @Override
        public void write(String line) {
            lines.add(line);
        }

        @Override
        public void flush() {
            flushes.incrementAndGet();
        }

        @Override
        public void sync() {
            syncs.incrementAndGet();
        }

        @Override
        public void syncWritten() {
            syncThreads.add(Thread.currentThread().getName());
            syncedWritten.incrementAndGet();
        }

        @Override
        public void close() {}
    }
}
