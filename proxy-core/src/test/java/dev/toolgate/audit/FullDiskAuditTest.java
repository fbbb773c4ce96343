package dev.toolgate.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.testing.Await;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real full disk: a 64 KiB tmpfs (mounting one needs root and mount permission; skipped otherwise). The disk fills
 * while the trail writes a batch, the kernel takes part of it and then says ENOSPC; once space is freed the trail
 * goes on, and the file holds whole records only, in one intact chain.
 */
class FullDiskAuditTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private Path mnt;
    private boolean mounted;

    @BeforeEach
    void mountTmpfs() throws Exception {
        mnt = Files.createDirectory(dir.resolve("mnt"));
        mounted = run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt.toString());
        Assumptions.assumeTrue(mounted, "cannot mount a 64 KiB tmpfs here (needs root and permission to mount): "
                + "the real disk-full test is skipped; FileAuditSinkFaultTest covers a write cut short by a failing "
                + "channel");
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            // Lazy if still busy (a failed test's open file), so a failure never leaves a mount behind.
            assertThat(run("umount", mnt.toString()) || run("umount", "-l", mnt.toString())).as("umount " + mnt)
                    .isTrue();
        }
    }

    private static boolean run(String... command) throws Exception {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false; // no mount command
        }
    }

    private static AuditRecord decision(int i) {
        return AuditRecord.decision(Instant.parse("2026-11-28T10:00:00.123456Z").plusSeconds(i), "d" + i, "t" + i,
                null, "spiffe://toolgate.test/agents/a", "weather", "http", "GET /api/weather/" + i, "allow", "ALLOW",
                "route matched", "enforce", 12);
    }

    private static void offer(AuditTrail trail, int from, int to) {
        for (int i = from; i < to; i++) {
            while (!trail.offer(decision(i))) {
                Thread.onSpinWait();
            }
        }
    }

    @Test
    void aWriteCutShortByAFullDiskLeavesNoPartialRecordAndTheChainVerifiesAcrossTheEpisode() throws Exception {
        Path file = mnt.resolve("audit.jsonl");
        AuditTrail trail = AuditTrail.open(new AuditConfig(file, 64, null, null, null));
        try {
            fillTheDiskDuringABatch(trail, file, mnt.resolve("filler"));
        } finally {
            trail.close();
        }

        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(r.ok()).as(r.toString()).isTrue();
        List<String> ids = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            ids.add(JSON.readTree(line).get("decision_id").asText());
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 21; i++) {
            expected.add("d" + i);
        }
        assertThat(ids).isEqualTo(expected);
    }

    /** Two records, a full disk, a batch that does not fit, a check that the file holds whole records, space. */
    private static void fillTheDiskDuringABatch(AuditTrail trail, Path file, Path filler) throws Exception {
        offer(trail, 0, 2);
        Await.until("two records in the file", () -> Files.readAllLines(file).size() == 2);

        // Fill the disk: what is left is the rest of the audit file's last page.
        try (OutputStream out = Files.newOutputStream(filler)) {
            byte[] block = new byte[4096];
            while (true) {
                out.write(block);
                out.flush();
            }
        } catch (IOException full) {
            // the disk is full
        }
        // About 7 KB: more than the page has room for. Once the writer found the disk full the trail takes no more
        // (calls fail closed at once), so what it refused is offered again when there is space.
        int taken = 2;
        while (taken < 20 && trail.offer(decision(taken))) {
            taken++;
        }
        int accepted = taken;
        // A flush failed: the sink cut the file back, and the trail refuses records until a flush succeeds.
        Await.until("the trail refuses records while the disk is full", () -> !trail.available());
        assertThat(trail.offer(decision(99))).isFalse();
        Await.until("the file holds whole records only", () -> {
            AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(file));
            return r.ok() && r.records() < accepted;
        });

        Files.delete(filler); // space again
        Await.until("the trail takes records again", trail::available);
        offer(trail, accepted, 21);
    }
}
