package dev.toolgate.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.config.AuditConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Audit retention on real files: the rotating sink deletes the oldest rotated files after each rotation, by count or
 * by total bytes, never the current file or anything else in the directory, and the chain of what is kept verifies.
 */
class AuditRetentionTest {
    @TempDir
    Path dir;

    /** A second later at every reading, so no two rotations share a file name whatever the writer's timing. */
    private final Clock clock = new Clock() {
        private final AtomicInteger tick = new AtomicInteger();

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.parse("2026-12-01T10:00:00Z").plusSeconds(tick.incrementAndGet());
        }
    };

    private static AuditRecord decision(int i) {
        return AuditRecord.decision(Instant.parse("2026-12-01T10:00:00.123456Z").plusSeconds(i), "d" + i, "t" + i,
                null, "spiffe://toolgate.test/agents/a", "weather", "http", "GET /api/weather/" + i, "allow", "ALLOW",
                "route matched", "enforce", 12);
    }

    /** Writes {@code records} records through a trail over {@code sink}. */
    private void write(FileAuditSink sink, int records) {
        AuditTrail trail = AuditTrail.start(sink, null, 4);
        for (int i = 0; i < records; i++) {
            while (!trail.offer(decision(i))) {
                Thread.onSpinWait();
            }
        }
        trail.close();
    }

    private List<Path> rotated(Path file) throws Exception {
        return AuditRetention.rotatedFiles(file);
    }

    @Test
    void withoutLimitsEveryRotatedFileIsKept() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        write(FileAuditSink.rotating(file, 2048, clock), 40);
        assertThat(rotated(file)).hasSizeGreaterThan(4);
    }

    @Test
    void maxFilesKeepsTheNewestRotatedFilesAndTheirChainVerifies() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        Path unrelated = Files.writeString(dir.resolve("audit-notes.jsonl"), "not a rotated file\n");
        Path sideFile = Files.writeString(dir.resolve("audit.jsonl.torn-20261201T090000Z"), "{\"torn");
        write(FileAuditSink.rotating(file, 2048, clock, AuditRetention.of(2, 0)), 40);

        List<Path> kept = rotated(file);
        assertThat(kept).hasSize(2);
        assertThat(Files.readString(kept.get(0))).as("the oldest records went with the oldest files")
                .doesNotContain("\"decision_id\":\"d0\"");
        assertThat(file).exists();
        assertThat(unrelated).exists();
        assertThat(sideFile).exists();
        List<Path> chain = new ArrayList<>(kept);
        chain.add(file);
        AuditVerifier.Result r = AuditVerifier.verify(chain, null);
        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(AuditVerifier.verifyFromGenesis(chain).ok()).as("the oldest files are gone").isFalse();
    }

    @Test
    void maxTotalBytesBoundsTheRotatedFilesAndTheCurrentOneTogether() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        write(FileAuditSink.rotating(file, 2048, clock, AuditRetention.of(0, 5000)), 60);
        List<Path> kept = rotated(file);
        long total = Files.size(file);
        for (Path p : kept) {
            total += Files.size(p);
        }
        assertThat(total).as("the current file is counted at its full size").isLessThanOrEqualTo(5000 - 2048
                + Files.size(file));
        assertThat(kept).isNotEmpty();
    }

    @Test
    void afterRotationDeletesOnlyWhatTheLimitsSayOldestFirst() throws Exception {
        Path file = Files.writeString(dir.resolve("trail.jsonl"), "x".repeat(100));
        List<Path> made = new ArrayList<>();
        for (String stamp : List.of("20261201T100003.000000Z", "20261201T100001.000000Z", "20261201T100002.000000Z")) {
            made.add(Files.writeString(dir.resolve("trail-" + stamp + ".jsonl"), "y".repeat(1000)));
        }
        Files.createDirectories(dir.resolve("trail-20261201T100000.000000Z.jsonl")); // not a file: never touched
        assertThat(AuditRetention.keepAll().afterRotation(file, 100)).isEmpty();
        // The current file counts at the size it may still grow to: 300 here, so 2 of the 3 rotated files go.
        assertThat(AuditRetention.of(0, 1300).afterRotation(file, 300)).extracting(p -> p.getFileName().toString())
                .containsExactly("trail-20261201T100001.000000Z.jsonl", "trail-20261201T100002.000000Z.jsonl");
        assertThat(made.get(0)).exists();
        assertThat(AuditRetention.of(1, 0).afterRotation(file, 100)).isEmpty();
        assertThat(AuditRetention.of(1, 1000).afterRotation(file, 0)).extracting(p -> p.getFileName().toString())
                .containsExactly("trail-20261201T100003.000000Z.jsonl");
        assertThat(file).exists();
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("trail.jsonl", "trail-20261201T100000.000000Z.jsonl");
        }
    }

    @Test
    void negativeOrTooSmallLimitsAreRefused() {
        assertThatThrownBy(() -> AuditRetention.of(-1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxFiles: -1 (expected: >= 0, 0 for no limit)");
        assertThatThrownBy(() -> AuditRetention.of(0, -5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxTotalBytes: -5 (expected: >= 0, 0 for no limit)");
        assertThatThrownBy(() -> new AuditConfig(null, null, null, 4096L, null, null, null, -2, null))
                .hasMessageContaining("maxFiles: -2");
        assertThatThrownBy(() -> new AuditConfig(null, null, null, 4096L, null, null, null, null, 8000L))
                .hasMessageContaining("maxTotalBytes: 8000 (expected: 0 for no limit, or at least twice maxFileBytes"
                        + " 4096");
        AuditConfig ok = new AuditConfig(null, null, null, 4096L, null, null, null, 3, 8192L);
        assertThat(AuditRetention.of(ok).maxFiles()).isEqualTo(3);
        assertThat(AuditRetention.of(ok).maxTotalBytes()).isEqualTo(8192);
        assertThat(AuditRetention.of(AuditConfig.defaults())).isSameAs(AuditRetention.keepAll());
    }
}
