package dev.toolgate.grant;

import static dev.toolgate.grant.JournalFixtures.AGENT;
import static dev.toolgate.grant.JournalFixtures.ORCHESTRATOR;
import static dev.toolgate.grant.JournalFixtures.T0;
import static dev.toolgate.grant.JournalFixtures.child;
import static dev.toolgate.grant.JournalFixtures.events;
import static dev.toolgate.grant.JournalFixtures.task;
import static dev.toolgate.grant.JournalFixtures.taskId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toolgate.grant.JournalTaskStore.FsyncPolicy;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

class JournalTaskStoreTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path journal() {
        return dir.resolve("state/tasks.jsonl");
    }

    /** A started task, a delegated one, a grant revocation, an end and a revocation of a task. */
    private static List<TaskEvent> everyKind() {
        Task parent = task(1, Duration.ofHours(1));
        Task delegated = child(2, parent, Duration.ofMinutes(30));
        Task other = task(3, Duration.ofHours(2));
        return List.of(
                new TaskEvent.Started(T0, parent),
                new TaskEvent.Started(T0.plusNanos(1), delegated),
                new TaskEvent.Started(T0.plusNanos(2), other),
                new TaskEvent.GrantRevoked(T0.plusSeconds(1), parent.id(), "g2", ORCHESTRATOR.uri(), "too broad"),
                new TaskEvent.Ended(T0.plusSeconds(2), delegated.id(), TaskState.ENDED, AGENT.uri(), ""),
                new TaskEvent.Ended(T0.plusSeconds(3), other.id(), TaskState.REVOKED, ORCHESTRATOR.uri(),
                        "incident \"42\"\nsee ticket"));
    }

    private static List<Long> appendAll(TaskStore store, List<TaskEvent> events) throws IOException {
        List<Long> revs = new ArrayList<>();
        for (TaskEvent e : events) {
            revs.add(store.append(e));
        }
        return revs;
    }

    @Test
    void roundTripsEveryKindOfEventAndNumbersAcrossReopen() throws IOException {
        List<TaskEvent> events = everyKind();
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEmpty();
            assertThat(store.revision()).isZero();
            assertThat(appendAll(store, events)).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
            assertThat(store.revision()).isEqualTo(6);
        }
        TaskEvent more = new TaskEvent.GrantRevoked(T0.plusSeconds(9), taskId(1), "g1", AGENT.uri(), "done");
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events);
            assertThat(store.revision()).isEqualTo(6);
            assertThat(store.append(more)).isEqualTo(7);
        }
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            List<TaskEvent> all = new ArrayList<>(events);
            all.add(more);
            assertThat(store.load().events()).isEqualTo(all);
            assertThat(store.revision()).isEqualTo(7);
        }
    }

    @Test
    void writesOneSnakeCaseJsonLinePerEventWithACrc() throws IOException {
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            appendAll(store, everyKind());
        }
        List<String> lines = Files.readAllLines(journal(), StandardCharsets.UTF_8);
        assertThat(lines).hasSize(6);

        JsonNode started = JSON.readTree(lines.get(1));
        assertThat(started.get("rev").asLong()).isEqualTo(2);
        assertThat(started.get("type").asText()).isEqualTo("started");
        assertThat(started.get("at").asText()).isEqualTo("2031-05-06T07:08:09.123456790Z");
        JsonNode task = started.get("task");
        assertThat(task.get("id").asText()).isEqualTo(taskId(2));
        assertThat(task.get("subject").asText()).isEqualTo("spiffe://toolgate.test/ns/prod/sa/helper");
        assertThat(task.get("started_by").asText()).isEqualTo(AGENT.uri());
        assertThat(task.get("parent_id").asText()).isEqualTo(taskId(1));
        assertThat(task.get("depth").asInt()).isEqualTo(1);
        assertThat(task.get("token_hash").asText()).hasSize(64);
        assertThat(task.get("expires_at").asText()).endsWith("Z");
        JsonNode grant = task.get("grants").get(0);
        assertThat(grant.get("operations").get(0).asText()).isEqualTo("GET /alerts/eu");
        assertThat(grant.get("budget").asLong()).isEqualTo(5);
        assertThat(grant.has("condition")).isFalse();
        assertThat(started.get("crc").asText()).matches("[0-9a-f]{8}");

        JsonNode first = JSON.readTree(lines.get(0));
        assertThat(first.get("task").has("parent_id")).isFalse();
        assertThat(first.get("task").get("grants").get(0).get("condition").asText())
                .isEqualTo("request.headers['x-region'] == 'eu'");

        JsonNode revoked = JSON.readTree(lines.get(3));
        assertThat(revoked.get("type").asText()).isEqualTo("grant_revoked");
        assertThat(revoked.get("task_id").asText()).isEqualTo(taskId(1));
        assertThat(revoked.get("grant_id").asText()).isEqualTo("g2");

        JsonNode ended = JSON.readTree(lines.get(5));
        assertThat(ended.get("type").asText()).isEqualTo("ended");
        assertThat(ended.get("state").asText()).isEqualTo("revoked");
        assertThat(ended.get("by").asText()).isEqualTo(ORCHESTRATOR.uri());
        assertThat(ended.get("reason").asText()).isEqualTo("incident \"42\"\nsee ticket");
    }

    @Test
    void missingFileIsAnEmptyJournalInNewDirectories() throws IOException {
        Path file = dir.resolve("a/b/c/tasks.jsonl");
        try (JournalTaskStore store = JournalTaskStore.open(file, FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEmpty();
            assertThat(store.revision()).isZero();
            assertThat(store.file()).isEqualTo(file.toAbsolutePath());
        }
        assertThat(file).exists().isEmptyFile();
    }

    @ParameterizedTest
    @EnumSource(FsyncPolicy.class)
    void eitherFsyncPolicyKeepsWhatWasAppended(FsyncPolicy fsync) throws IOException {
        try (JournalTaskStore store = JournalTaskStore.open(journal(), fsync)) {
            appendAll(store, events(30));
        }
        try (JournalTaskStore store = JournalTaskStore.open(journal(), fsync)) {
            assertThat(store.load().events()).isEqualTo(events(30));
            assertThat(store.append(JournalFixtures.event(30))).isEqualTo(31);
        }
    }

    @Test
    void tornLastRecordIsCutOffWithAWarningAndAppendsGoOn() throws IOException {
        write(3);
        List<byte[]> lines = lines(journal());
        long intact = lines.get(0).length + lines.get(1).length;
        truncate(journal(), intact + lines.get(2).length / 2);

        List<ILoggingEvent> logged = captureLog(() -> {
            try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
                assertThat(store.load().events()).isEqualTo(events(2));
                assertThat(store.revision()).isEqualTo(2);
                assertThat(Files.size(journal())).isEqualTo(intact);
                assertThat(store.append(JournalFixtures.event(2))).isEqualTo(3);
            }
        });
        assertThat(logged).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.WARN);
            assertThat(e.getFormattedMessage()).contains(journal().toString(), "line 3 is torn (no newline at its"
                    + " end)", "the 2 records before it are intact");
        });
        assertThat(lines(journal()).subList(0, 2)).containsExactly(lines.get(0), lines.get(1));
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events(3));
        }
    }

    @Test
    void completeLastLineWithoutItsNewlineDoesNotCount() throws IOException {
        write(3);
        truncate(journal(), Files.size(journal()) - 1);
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events(2));
            assertThat(store.append(JournalFixtures.event(2))).isEqualTo(3);
        }
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events(3));
        }
    }

    @Test
    void damagedLastLineWithItsNewlineIsTornToo() throws IOException {
        write(3);
        List<byte[]> lines = lines(journal());
        flipByteIn(lines.get(2), "orchestrator");
        writeLines(journal(), lines);
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events(2));
        }
        // Garbage a crash can leave behind the last record (a zero-filled block) goes the same way.
        Files.write(journal(), new byte[4096], java.nio.file.StandardOpenOption.APPEND);
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events(2));
        }
    }

    @Test
    void damagedMiddleRecordThatStillParsesFailsOpenNamingTheLine() throws IOException {
        write(3);
        List<byte[]> lines = lines(journal());
        flipByteIn(lines.get(1), "not needed");
        assertThat(JSON.readTree(lines.get(1)).get("reason").asText()).isNotEqualTo("not needed #1");
        writeLines(journal(), lines);
        byte[] before = Files.readAllBytes(journal());

        assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(journal().toString())
                .hasMessageContaining("line 2: damaged record: crc");
        assertThat(Files.readAllBytes(journal())).isEqualTo(before);
        // The failed open released its lock: once the file is fixed, it opens.
        writeLines(journal(), lines(journal()).subList(0, 1));
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events(1));
        }
    }

    @Test
    void unparsableMiddleRecordFailsOpen() throws IOException {
        write(3);
        List<byte[]> lines = lines(journal());
        lines.get(1)[0] = 'x';
        writeLines(journal(), lines);
        assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                .hasMessageContaining(journal() + ": line 2: damaged record");
    }

    @Test
    void missingOrRepeatedRevisionFailsOpen() throws IOException {
        write(4);
        List<byte[]> lines = lines(journal());

        writeLines(journal(), List.of(lines.get(0), lines.get(2), lines.get(3)));
        assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                .hasMessageContaining("line 2: revision 3 (expected: 2)");

        writeLines(journal(), List.of(lines.get(0), lines.get(1), lines.get(1), lines.get(2)));
        assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                .hasMessageContaining("line 3: revision 2 (expected: 3)");

        // An intact last record out of sequence is not a torn write: it fails too.
        writeLines(journal(), List.of(lines.get(0), lines.get(1), lines.get(3)));
        assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                .hasMessageContaining("line 3: revision 4 (expected: 3)");
    }

    @Test
    void intactRecordThisVersionDoesNotUnderstandFailsOpenEvenLast() throws IOException {
        write(2);
        append(journal(), withCrc("{\"rev\":3,\"type\":\"grant_paused\",\"at\":\"2031-05-06T07:08:09Z\","
                + "\"task_id\":\"" + taskId(0) + "\"}"));
        assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                .hasMessageContaining("line 3: not a record this version understands: type: \"grant_paused\"");

        write(2);
        append(journal(), withCrc("{\"rev\":3,\"type\":\"ended\",\"at\":\"2031-05-06T07:08:09Z\",\"task_id\":\""
                + taskId(0) + "\",\"state\":\"ended\",\"by\":\"x\",\"reason\":\"\",\"scope\":\"partial\"}"));
        assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                .hasMessageContaining("line 3: not a record this version understands: record: unknown field"
                        + " \"scope\"");
    }

    @Test
    void intactStartWhoseTokenHashIsNotSha256HexFailsOpen() throws IOException {
        for (String bad : List.of("abc", "A".repeat(64), "g".repeat(64), "0".repeat(65))) {
            write(1);
            ObjectNode started =
                    (ObjectNode) JSON.readTree(lines(journal()).get(0));
            started.remove("crc");
            ((ObjectNode) started.get("task")).put("token_hash", bad);
            writeLines(journal(), List.of(withCrc(JSON.writeValueAsString(started))));
            assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                    .as(bad)
                    .hasMessageContaining("line 1: not a record this version understands: task.token_hash: \""
                            + bad + "\" (expected: 64 lowercase hex digits");
        }
    }

    @Test
    void compactionKeepsTasksThatStillMatterAndTheirEvents() throws IOException {
        Instant now = T0.plus(Duration.ofHours(2));
        Task live = task(1, Duration.ofHours(3));
        Task expired = task(2, Duration.ofHours(1));
        Task liveChild = child(3, live, Duration.ofMinutes(150));
        Task expiredParent = task(4, Duration.ofHours(1));
        Task outlivesParent = child(5, expiredParent, Duration.ofHours(4));
        Task expiresNow = task(6, Duration.ofHours(2));
        List<TaskEvent> events = List.of(
                new TaskEvent.Started(T0, live),
                new TaskEvent.Started(T0, expired),
                new TaskEvent.Started(T0, liveChild),
                new TaskEvent.GrantRevoked(T0.plusSeconds(1), live.id(), "g2", AGENT.uri(), ""),
                new TaskEvent.Ended(T0.plusSeconds(2), expired.id(), TaskState.ENDED, AGENT.uri(), ""),
                new TaskEvent.Started(T0, expiredParent),
                new TaskEvent.Started(T0, outlivesParent),
                new TaskEvent.Ended(T0.plusSeconds(3), live.id(), TaskState.REVOKED, ORCHESTRATOR.uri(), "stop"),
                new TaskEvent.Started(T0, expiresNow),
                new TaskEvent.GrantRevoked(T0.plusSeconds(4), taskId(99), "g1", AGENT.uri(), "unknown task"));
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            appendAll(store, events);
        }
        long before = Files.size(journal());
        List<TaskEvent> kept = List.of(events.get(0), events.get(2), events.get(3), events.get(5), events.get(6),
                events.get(7));

        TaskEvent next = new TaskEvent.GrantRevoked(now, live.id(), "g1", AGENT.uri(), "");
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS, at(now), 3)) {
            assertThat(store.load().events()).isEqualTo(kept);
            assertThat(store.revision()).isEqualTo(10);
            assertThat(store.append(next)).isEqualTo(11);
        }
        assertThat(Files.size(journal())).isLessThan(before);
        assertThat(dir.resolve("state/tasks.jsonl.compacting")).doesNotExist();
        JsonNode marker = JSON.readTree(lines(journal()).get(0));
        assertThat(marker.get("type").asText()).isEqualTo("compacted");
        assertThat(marker.get("rev").asLong()).isEqualTo(10);
        assertThat(marker.get("kept").asLong()).isEqualTo(6);
        assertThat(JSON.readTree(lines(journal()).get(1)).get("rev").asLong()).isEqualTo(1);

        // Above the threshold but nothing to drop: the file is left alone.
        byte[] compacted = Files.readAllBytes(journal());
        List<TaskEvent> afterAppend = new ArrayList<>(kept);
        afterAppend.add(next);
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS, at(now), 3)) {
            assertThat(store.load().events()).isEqualTo(afterAppend);
            assertThat(store.revision()).isEqualTo(11);
        }
        assertThat(Files.readAllBytes(journal())).isEqualTo(compacted);

        // Later everything has expired: only the marker is left, and revisions still only grow.
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS,
                at(T0.plus(Duration.ofHours(5))), 3)) {
            assertThat(store.load().events()).isEmpty();
            assertThat(store.revision()).isEqualTo(11);
            assertThat(store.append(events.get(0))).isEqualTo(12);
        }
        assertThat(lines(journal())).hasSize(2);
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).containsExactly(events.get(0));
            assertThat(store.revision()).isEqualTo(12);
        }
    }

    @Test
    void noCompactionAtOrBelowTheThreshold() throws IOException {
        write(6); // two tasks, both expired an hour after T0
        byte[] before = Files.readAllBytes(journal());
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS,
                at(T0.plus(Duration.ofDays(1))), 6)) {
            assertThat(store.load().events()).isEqualTo(events(6));
        }
        assertThat(Files.readAllBytes(journal())).isEqualTo(before);
    }

    @Test
    void compactedJournalMissingAKeptRecordFailsOpen() throws IOException {
        write(9); // tasks 0, 1 and 2, expiring an hour after T0
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            store.append(new TaskEvent.Started(T0, task(50, Duration.ofDays(3))));
            store.append(new TaskEvent.Started(T0, task(51, Duration.ofDays(3))));
        }
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS,
                at(T0.plus(Duration.ofDays(1))), 3)) {
            assertThat(store.load().events()).hasSize(2);
        }
        List<byte[]> lines = lines(journal());
        assertThat(lines).hasSize(3);
        // The kept records' revisions (10, 11) are no longer consecutive with anything: the marker's count is what
        // still shows that one is missing.
        writeLines(journal(), List.of(lines.get(0), lines.get(2)));
        assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                .hasMessageContaining("the compaction marker on line 1 promises 2 kept records but only 1 follow");
    }

    @Test
    void aJournalIsOpenInOneStoreAtATime() throws IOException {
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            store.append(JournalFixtures.event(0));
            assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("already open in another store");
            assertThat(store.append(JournalFixtures.event(1))).isEqualTo(2);
        }
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events(2));
        }
    }

    @Test
    void appendAfterCloseFails() throws IOException {
        JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS);
        store.close();
        store.close();
        assertThatThrownBy(() -> store.append(JournalFixtures.event(0)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void anInterruptedCallerDoesNotCloseTheJournalForEveryoneElse() throws Exception {
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            Thread.currentThread().interrupt();
            try {
                assertThat(store.append(JournalFixtures.event(0))).isEqualTo(1);
            } finally {
                assertThat(Thread.interrupted()).isTrue(); // still set, and cleared for the rest of the test
            }
            ExecutorService other = Executors.newSingleThreadExecutor();
            try {
                assertThat(other.submit(() -> store.append(JournalFixtures.event(1))).get(10, TimeUnit.SECONDS))
                        .isEqualTo(2);
            } finally {
                other.shutdownNow();
            }
        }
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events(2));
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS, Clock.systemUTC(), 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("compactAbove: 0 (expected: > 0)");
        assertThatThrownBy(() -> JournalTaskStore.open(journal(), null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("fsync");
    }

    @Test
    void concurrentAppendsGetDistinctConsecutiveRevisionsInFileOrder() throws Exception {
        int threads = 8;
        int each = 250;
        Map<Long, TaskEvent> byRev = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.NEVER)) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < each; i++) {
                        TaskEvent e = new TaskEvent.GrantRevoked(T0.plusNanos(i), taskId(thread), "g" + i,
                                AGENT.uri(), "");
                        assertThat(byRev.put(store.append(e), e)).isNull();
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
            assertThat(store.revision()).isEqualTo((long) threads * each);
        } finally {
            pool.shutdownNow();
        }
        assertThat(byRev.keySet()).hasSize(threads * each).allSatisfy(rev -> assertThat(rev).isBetween(1L,
                (long) threads * each));
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.NEVER)) {
            List<TaskEvent> recovered = store.load().events();
            for (int i = 0; i < recovered.size(); i++) {
                assertThat(recovered.get(i)).isEqualTo(byRev.get(i + 1L));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(FsyncPolicy.class)
    void killedProcessLosesNoAcknowledgedAppend(FsyncPolicy fsync) throws Exception {
        int count = 40;
        Process child = startChild(fsync, count);
        try {
            awaitAppended(child, count);
        } finally {
            kill(child);
        }
        try (JournalTaskStore store = JournalTaskStore.open(journal(), fsync)) {
            assertThat(store.load().events()).isEqualTo(events(count));
            assertThat(store.revision()).isEqualTo(count);
        }
    }

    @Test
    void processKilledWhileAppendingLeavesAPrefixThatReopens() throws Exception {
        int seen = 200;
        Process child = startChild(FsyncPolicy.ALWAYS, -1);
        try {
            awaitAppended(child, seen);
        } finally {
            kill(child);
        }
        int recovered;
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            recovered = store.load().events().size();
            assertThat(recovered).isGreaterThanOrEqualTo(seen);
            assertThat(store.load().events()).isEqualTo(events(recovered));
            assertThat(store.append(JournalFixtures.event(recovered))).isEqualTo(recovered + 1L);
        }
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            assertThat(store.load().events()).isEqualTo(events(recovered + 1));
        }
    }

    // ---- helpers

    private Process startChild(FsyncPolicy fsync, int count) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                JournalCrashChild.class.getName(), journal().toString(), fsync.name(), Integer.toString(count))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
    }

    /** Reads the child's output until it reported {@code count} returned appends, in order. */
    private static void awaitAppended(Process child, int count) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8));
        for (int rev = 1; rev <= count; rev++) {
            String line = out.readLine();
            assertThat(line).as("child output (alive: %s)", child.isAlive()).isEqualTo("appended " + rev);
        }
    }

    private static void kill(Process child) throws InterruptedException {
        child.destroyForcibly(); // SIGKILL: no shutdown hooks, no close, no flush
        assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
    }

    private void write(int count) throws IOException {
        Files.deleteIfExists(journal());
        try (JournalTaskStore store = JournalTaskStore.open(journal(), FsyncPolicy.ALWAYS)) {
            appendAll(store, events(count));
        }
    }

    private static Clock at(Instant now) {
        return Clock.fixed(now, ZoneOffset.UTC);
    }

    /** The file's lines, each with its newline (the last one may lack it). */
    private static List<byte[]> lines(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        List<byte[]> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < all.length; i++) {
            if (all[i] == '\n') {
                lines.add(Arrays.copyOfRange(all, start, i + 1));
                start = i + 1;
            }
        }
        if (start < all.length) {
            lines.add(Arrays.copyOfRange(all, start, all.length));
        }
        return lines;
    }

    private static void writeLines(Path file, List<byte[]> lines) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] l : lines) {
            out.write(l);
        }
        Files.write(file, out.toByteArray());
    }

    private static void append(Path file, byte[] bytes) throws IOException {
        Files.write(file, bytes, java.nio.file.StandardOpenOption.APPEND);
    }

    private static void truncate(Path file, long size) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    /** Changes one letter of {@code text} inside {@code line} so the line still parses as JSON. */
    private static void flipByteIn(byte[] line, String text) {
        String s = new String(line, StandardCharsets.UTF_8);
        int at = s.indexOf(text);
        assertThat(at).isNotNegative();
        int pos = s.substring(0, at).getBytes(StandardCharsets.UTF_8).length;
        line[pos] ^= 0x20; // 'n' -> 'N'
    }

    /** A line as the journal would write it: {@code json} with the crc member of its bytes, and a newline. */
    private static byte[] withCrc(String json) {
        CRC32C crc = new CRC32C();
        crc.update(json.getBytes(StandardCharsets.UTF_8));
        String hex = String.format("%08x", crc.getValue());
        return (json.substring(0, json.length() - 1) + ",\"crc\":\"" + hex + "\"}\n").getBytes(StandardCharsets.UTF_8);
    }

    private interface Body {
        void run() throws IOException;
    }

    private static List<ILoggingEvent> captureLog(Body body) throws IOException {
        Logger logger = (Logger) LoggerFactory.getLogger(JournalTaskStore.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            body.run();
        } finally {
            logger.detachAppender(appender);
        }
        return appender.list;
    }
}
