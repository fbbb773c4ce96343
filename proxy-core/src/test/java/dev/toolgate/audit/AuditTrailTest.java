package dev.toolgate.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.testing.Await;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.testing.MemoryAuditSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditTrailTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static AuditRecord decision(int i) {
        return AuditRecord.decision(Instant.parse("2026-11-28T10:00:00.123456Z").plusSeconds(i), "d" + i, "t" + i,
                null, "spiffe://toolgate.test/agents/a", "weather", "http", "GET /api/weather/" + i, "allow", "ALLOW",
                "route matched", "enforce", 12);
    }

    private Path writeRecords(Path file, int from, int to) throws Exception {
        String head = FileAuditSink.lastHash(file).orElse(null);
        AuditTrail trail = AuditTrail.start(FileAuditSink.open(file), head, 16);
        for (int i = from; i < to; i++) {
            while (!trail.offer(decision(i))) {
                Thread.onSpinWait();
            }
        }
        trail.close();
        return file;
    }

    @Test
    void recordsAreCanonicalJsonLinesWithTheDesignFieldNames() throws Exception {
        Path file = writeRecords(dir.resolve("a.jsonl"), 0, 1);
        JsonNode r = JSON.readTree(Files.readAllLines(file).get(0));
        assertThat(r.get("phase").asText()).isEqualTo("decision");
        assertThat(r.get("ts").asText()).isEqualTo("2026-11-28T10:00:00.123456Z");
        assertThat(r.get("decision_id").asText()).isEqualTo("d0");
        assertThat(r.get("decision_us").asLong()).isEqualTo(12);
        assertThat(r.get("prev_hash").asText()).isEqualTo("0".repeat(64));
        assertThat(r.get("hash").asText()).matches("[0-9a-f]{64}");
        assertThat(r.has("task_id")).isFalse(); // absent fields are left out, not null
    }

    @Test
    void theIdentityProofIsRecordedAfterTheAgentAndCoveredByTheChain() throws Exception {
        Path file = dir.resolve("identity.jsonl");
        AuditTrail trail = AuditTrail.start(FileAuditSink.open(file), null, 16);
        for (int i = 0; i < 4; i++) {
            AuditRecord rec = decision(i).withIdentity(i % 2 == 0 ? "jwt" : "x509");
            while (!trail.offer(rec)) {
                Thread.onSpinWait();
            }
        }
        trail.close();
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        assertThat(lines.get(0)).contains("\"agent\":\"spiffe://toolgate.test/agents/a\",\"identity\":\"jwt\",");
        assertThat(JSON.readTree(lines.get(1)).get("identity").asText()).isEqualTo("x509");
        AuditVerifier.Result ok = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(ok.ok()).as(ok.toString()).isTrue();
        assertThat(ok.records()).isEqualTo(4);

        // Claiming a certificate where a JWT-SVID was shown is tampering like any other.
        lines.set(2, lines.get(2).replace("\"identity\":\"jwt\"", "\"identity\":\"x509\""));
        Files.write(file, lines);
        AuditVerifier.Result altered = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(altered.ok()).isFalse();
        assertThat(altered.line()).isEqualTo(3);
        assertThat(altered.problem()).contains("altered");
    }

    @Test
    void theChainVerifiesAcrossARestart() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        writeRecords(file, 0, 5);
        writeRecords(file, 5, 9); // a new trail continues from the file's last hash
        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(r.records()).isEqualTo(9);
    }

    @Test
    void theChainVerifiesAcrossFiles() throws Exception {
        Path first = writeRecords(dir.resolve("audit-1.jsonl"), 0, 3);
        Path second = dir.resolve("audit-2.jsonl");
        String head = FileAuditSink.lastHash(first).orElseThrow();
        AuditTrail trail = AuditTrail.start(FileAuditSink.open(second), head, 4);
        trail.offer(decision(3));
        trail.close();
        assertThat(AuditVerifier.verifyFromGenesis(List.of(first, second)).ok()).isTrue();
        // The second file alone does not start a chain, but verifies as a partial set.
        assertThat(AuditVerifier.verifyFromGenesis(List.of(second)).ok()).isFalse();
        assertThat(AuditVerifier.verify(List.of(second), null).ok()).isTrue();
    }

    @Test
    void anAlteredRecordIsFoundWithItsLine() throws Exception {
        Path file = writeRecords(dir.resolve("audit.jsonl"), 0, 6);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(3, lines.get(3).replace("\"allow\"", "\"deny\""));
        Files.write(file, lines);
        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(r.ok()).isFalse();
        assertThat(r.line()).isEqualTo(4);
        assertThat(r.problem()).contains("altered");
    }

    @Test
    void recordsWithToolDigestsAndBatchElementsVerifyAndTheirAlterationIsFound() throws Exception {
        Path file = dir.resolve("nested.jsonl");
        AuditTrail trail = AuditTrail.start(FileAuditSink.open(file), null, 16);
        AuditRecord listed = decision(0).withTools(java.util.Map.of("search_issues", "a".repeat(64),
                "delete_repo", "b".repeat(64)));
        AuditRecord batch = decision(1).withElements(List.of(
                new AuditRecord.Element("mcp:tools/call:search_issues", "ALLOW", "g1"),
                new AuditRecord.Element("mcp:tools/call:delete_repo", "DENY_NO_GRANT", null)));
        for (AuditRecord r : List.of(listed, batch, decision(2))) {
            while (!trail.offer(r)) {
                Thread.onSpinWait();
            }
        }
        trail.close();
        assertThat(AuditVerifier.verifyFromGenesis(List.of(file)).ok()).isTrue();
        JsonNode second = JSON.readTree(Files.readAllLines(file).get(1));
        assertThat(second.at("/elements/1/code").asText()).isEqualTo("DENY_NO_GRANT");
        assertThat(second.at("/elements/1").has("grant_id")).isFalse();
        assertThat(JSON.readTree(Files.readAllLines(file).get(0)).path("tools").fieldNames()).toIterable()
                .containsExactly("delete_repo", "search_issues");

        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(1, lines.get(1).replace("\"DENY_NO_GRANT\"", "\"ALLOW\""));
        Files.write(file, lines);
        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(r.ok()).isFalse();
        assertThat(r.line()).isEqualTo(2);
    }

    @Test
    void aDeletedRecordIsFoundWithItsLine() throws Exception {
        Path file = writeRecords(dir.resolve("audit.jsonl"), 0, 6);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.remove(2);
        Files.write(file, lines);
        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(r.ok()).isFalse();
        assertThat(r.line()).isEqualTo(3);
        assertThat(r.problem()).contains("chain broken");
    }

    @Test
    void swappedRecordsAreFound() throws Exception {
        Path file = writeRecords(dir.resolve("audit.jsonl"), 0, 6);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        Collections.swap(lines, 1, 2);
        Files.write(file, lines);
        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(r.ok()).isFalse();
        assertThat(r.line()).isEqualTo(2);
    }

    @Test
    void aDeletedFirstRecordIsFound() throws Exception {
        Path file = writeRecords(dir.resolve("audit.jsonl"), 0, 3);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.remove(0);
        Files.write(file, lines);
        assertThat(AuditVerifier.verifyFromGenesis(List.of(file)).line()).isEqualTo(1);
    }

    @Test
    void aSlowSinkSlowsOffersButLosesNothing() throws Exception {
        MemoryAuditSink slow = new MemoryAuditSink(1);
        AuditTrail trail = AuditTrail.start(slow, null, 8);
        int sent = 300;
        int refusals = 0;
        for (int i = 0; i < sent; i++) {
            while (!trail.offer(decision(i))) {
                refusals++;
                Thread.sleep(0, 100_000); // a back-off between offers: the test counts the full queue's refusals
            }
        }
        trail.close();
        assertThat(refusals).as("the full queue pushed back").isPositive();
        assertThat(slow.lines).hasSize(sent);
        assertThat(trail.written()).isEqualTo(sent);
        for (int i = 0; i < sent; i++) {
            assertThat(JSON.readTree(slow.lines.get(i)).get("decision_id").asText()).isEqualTo("d" + i);
        }
    }

    @Test
    void aClosedTrailAcceptsNothing() {
        AuditTrail trail = AuditTrail.start(new MemoryAuditSink(), null, 8);
        trail.close();
        assertThat(trail.offer(decision(1))).isFalse();
    }

    @Test
    void theChainSurvivesRotationAndVerifiesAcrossTheRotatedFiles() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        java.time.Clock clock = java.time.Clock.fixed(Instant.parse("2026-11-28T10:00:00Z"), java.time.ZoneOffset.UTC);
        java.util.concurrent.atomic.AtomicInteger tick = new java.util.concurrent.atomic.AtomicInteger();
        java.time.Clock moving = new java.time.Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public java.time.Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return clock.instant().plusSeconds(tick.incrementAndGet());
            }
        };
        AuditTrail trail = AuditTrail.start(FileAuditSink.rotating(file, 2048, moving), null, 64);
        for (int i = 0; i < 30; i++) {
            while (!trail.offer(decision(i))) {
                Thread.onSpinWait();
            }
        }
        trail.close();
        List<Path> files;
        try (var s = Files.list(dir)) {
            files = new ArrayList<>(s.filter(p -> !p.equals(file)).sorted().toList());
        }
        assertThat(files).hasSizeGreaterThan(2);
        for (Path p : files) {
            assertThat(Files.size(p)).isLessThanOrEqualTo(2048);
        }
        files.add(file);
        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(files);
        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(r.records()).isEqualTo(30);
        // Dropping a rotated file in the middle breaks the chain at the first record after the gap.
        List<Path> gap = new ArrayList<>(files);
        gap.remove(1);
        AuditVerifier.Result broken = AuditVerifier.verifyFromGenesis(gap);
        assertThat(broken.ok()).isFalse();
        assertThat(broken.file()).isEqualTo(gap.get(1));
        assertThat(broken.line()).isEqualTo(1);
    }

    @Test
    void lastHashAloneRefusesATornLastLineWhichOnlyTheRepairAtOpenMovesAside() throws Exception {
        Path file = writeRecords(dir.resolve("audit.jsonl"), 0, 3);
        Files.writeString(file, "{\"phase\":\"decis", java.nio.file.StandardOpenOption.APPEND);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FileAuditSink.lastHash(file))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("audit verify");
    }

    @Test
    void refusedRecordsAreSummedUpInOneGapRecordOnceTheWriterCatchesUp() throws Exception {
        dev.toolgate.testing.GatedAuditSink stalled = new dev.toolgate.testing.GatedAuditSink();
        java.time.Clock fixed = java.time.Clock.fixed(Instant.parse("2026-11-28T11:00:00Z"), java.time.ZoneOffset.UTC);
        AuditTrail trail = AuditTrail.start(stalled, null, 1, fixed);
        assertThat(trail.offer(decision(0))).isTrue();
        assertThat(stalled.held.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(trail.offer(decision(1))).isTrue(); // fills the queue of 1
        assertThat(trail.offer(decision(2))).isFalse();
        // The callers give up on three records (as the data plane does after audit.maxWait).
        trail.refused(decision(2));
        trail.refused(decision(4));
        trail.refused(AuditRecord.outcome(Instant.parse("2026-11-28T10:00:03.5Z"), "d3", null, null, "weather",
                "GET /x", null, "completed", null, 1L, 0, 0));
        assertThat(trail.refusedCount()).isEqualTo(3);
        stalled.open();
        trail.close();
        List<String> phases = new ArrayList<>();
        for (String line : stalled.lines) {
            phases.add(JSON.readTree(line).get("phase").asText());
        }
        assertThat(phases).containsExactly("decision", "gap", "decision");
        JsonNode gap = JSON.readTree(stalled.lines.get(1));
        assertThat(gap.get("ts").asText()).isEqualTo("2026-11-28T11:00:00.000000Z");
        assertThat(gap.get("count").asLong()).isEqualTo(3);
        assertThat(gap.get("first_ts").asText()).isEqualTo("2026-11-28T10:00:02.123456Z");
        assertThat(gap.get("last_ts").asText()).isEqualTo("2026-11-28T10:00:04.123456Z");
        assertThat(gap.get("reason").asText()).contains("2 calls denied").contains("1 forwarded calls without an outcome record");
        Path file = dir.resolve("gap.jsonl");
        Files.write(file, stalled.lines);
        assertThat(AuditVerifier.verifyFromGenesis(List.of(file)).ok()).isTrue();
    }

    @Test
    void aRefusalOnAnIdleTrailIsWrittenAsAGapWithoutWaitingForTheNextRecord() throws Exception {
        MemoryAuditSink sink = new MemoryAuditSink();
        AuditTrail trail = AuditTrail.start(sink, null, 8);
        trail.refused(decision(7));
        Await.until("the gap record", () -> !sink.lines.isEmpty());
        assertThat(sink.lines).hasSize(1);
        assertThat(JSON.readTree(sink.lines.get(0)).get("phase").asText()).isEqualTo("gap");
        trail.close();
        assertThat(sink.lines).hasSize(1);
    }
}
