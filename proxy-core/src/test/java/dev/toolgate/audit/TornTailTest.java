package dev.toolgate.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.config.AuditConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A crash leaves a torn last line: the next start moves it aside, says so in the chain, and the chain goes on. */
class TornTailTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static AuditRecord decision(int i) {
        return AuditRecord.decision(Instant.parse("2026-11-28T10:00:00.123456Z").plusSeconds(i), "d" + i, "t" + i,
                null, "spiffe://toolgate.test/agents/a", "weather", "http", "GET /api/weather/" + i, "allow", "ALLOW",
                "route matched", "enforce", 12);
    }

    /** Starts the trail as the sidecar does (AuditTrail.open), writes records {@code from..to-1}, stops it. */
    private static void run(AuditConfig cfg, int from, int to) throws Exception {
        AuditTrail trail = AuditTrail.open(cfg);
        for (int i = from; i < to; i++) {
            while (!trail.offer(decision(i))) {
                Thread.onSpinWait();
            }
        }
        trail.close();
    }

    private AuditConfig config(Path file) {
        return new AuditConfig(file, 16, null, null, null);
    }

    private List<Path> sideFiles() throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith("audit.jsonl.torn-")).toList();
        }
    }

    private static List<JsonNode> records(Path file) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    private void restartsOverATornTail(byte[] torn) throws Exception {
        Path file = dir.resolve("audit.jsonl");
        AuditConfig cfg = config(file);
        run(cfg, 0, 3);
        long whole = Files.size(file);
        Files.write(file, torn, StandardOpenOption.APPEND); // what kill -9 in the middle of a write leaves

        AuditVerifier.Result before = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(before.ok()).isFalse();
        assertThat(before.tornTail()).isTrue();
        assertThat(before.records()).isEqualTo(3);
        assertThat(before.toString()).contains("torn tail").doesNotContain("chain broken");

        run(cfg, 3, 5); // the restart

        List<Path> side = sideFiles();
        assertThat(side).hasSize(1);
        assertThat(Files.readAllBytes(side.get(0))).isEqualTo(torn);
        List<JsonNode> records = records(file);
        assertThat(records).hasSize(6);
        JsonNode moved = records.get(3);
        assertThat(moved.get("phase").asText()).isEqualTo("gap");
        assertThat(moved.get("event").asText()).isEqualTo("torn_tail");
        assertThat(moved.get("side_file").asText()).isEqualTo(side.get(0).getFileName().toString());
        assertThat(moved.get("side_file_bytes").asLong()).isEqualTo(torn.length);
        assertThat(moved.get("side_file_sha256").asText())
                .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(torn)));
        assertThat(moved.get("prev_hash").asText()).isEqualTo(records.get(2).get("hash").asText());
        assertThat(records.get(4).get("decision_id").asText()).isEqualTo("d3");
        assertThat(Files.size(file)).isGreaterThan(whole);
        AuditVerifier.Result after = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(after.ok()).as(after.toString()).isTrue();
        assertThat(after.records()).isEqualTo(6);

        run(cfg, 5, 6); // a clean restart moves nothing
        assertThat(sideFiles()).hasSize(1);
        assertThat(AuditVerifier.verifyFromGenesis(List.of(file)).ok()).isTrue();
    }

    @Test
    void aPartialLastLineIsMovedAsideAtStartAndTheChainContinues() throws Exception {
        restartsOverATornTail("{\"phase\":\"decision\",\"ts\":\"2026-11-28T10:00:0".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aLastLineOfZeroBytesWithItsNewlineIsATornTailToo() throws Exception {
        byte[] zeros = new byte[40];
        zeros[39] = '\n';
        restartsOverATornTail(zeros);
    }

    @Test
    void aWholeLastRecordWithoutItsNewlineIsKeptAndCompleted() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        AuditConfig cfg = config(file);
        run(cfg, 0, 3);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 1)); // only the newline was lost
        assertThat(AuditVerifier.verifyFromGenesis(List.of(file)).ok()).isTrue();

        run(cfg, 3, 4);

        assertThat(sideFiles()).isEmpty();
        assertThat(records(file)).extracting(r -> r.get("decision_id").asText()).containsExactly("d0", "d1", "d2",
                "d3");
        assertThat(AuditVerifier.verifyFromGenesis(List.of(file)).ok()).isTrue();
    }

    @Test
    void aBadLineInTheMiddleIsABrokenChainNotATornTail() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        run(config(file), 0, 3);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(1, lines.get(1).substring(0, 30));
        Files.write(file, lines);

        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(file));

        assertThat(r.ok()).isFalse();
        assertThat(r.tornTail()).isFalse();
        assertThat(r.line()).isEqualTo(2);
        assertThat(r.records()).isEqualTo(1);
        assertThat(r.toString()).doesNotContain("torn tail");
    }

    @Test
    void aTornLastLineOfAnOlderFileIsABrokenChain() throws Exception {
        Path first = dir.resolve("audit-1.jsonl");
        run(config(first), 0, 2);
        Files.writeString(first, "{\"phase\":\"deci", StandardOpenOption.APPEND);
        Path second = dir.resolve("audit.jsonl");
        Files.writeString(second, "");

        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(first, second));

        assertThat(r.ok()).isFalse();
        assertThat(r.tornTail()).isFalse();
        assertThat(r.file()).isEqualTo(first);
        assertThat(r.line()).isEqualTo(3);
    }

    @Test
    void aTornLastLineAfterABadLineIsNotMovedAndTheStartFails() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        run(config(file), 0, 3);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.set(2, lines.get(2).substring(0, 30));
        Files.write(file, lines);
        Files.writeString(file, "{\"phase\":\"deci", StandardOpenOption.APPEND);
        byte[] before = Files.readAllBytes(file);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> AuditTrail.open(config(file)))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("nothing was moved");

        assertThat(Files.readAllBytes(file)).isEqualTo(before);
        assertThat(sideFiles()).isEmpty();
        assertThat(AuditVerifier.verifyFromGenesis(List.of(file)).tornTail()).isFalse();
    }
}
