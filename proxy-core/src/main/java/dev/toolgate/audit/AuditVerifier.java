package dev.toolgate.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Checks the hash chain of audit files, in the order given (older files first): every record's {@code hash}
 * matches its content and its {@code prev_hash} is the previous record's {@code hash}. Reports the first break.
 *
 * <p>The very last line of the last file may be a <em>torn tail</em>: a write cut short by a crash (a line that is
 * not a whole JSON record with a {@code hash}, or that lacks its line break and is not a record whose hash
 * verifies). That is reported as a torn tail, distinct from a broken chain, after verifying everything before it;
 * the sidecar moves such a tail aside to a side file at its next start and continues the chain. Anywhere else such a
 * line is a break. Stateless.
 */
public final class AuditVerifier {
    private AuditVerifier() {}

    /**
     * The result: {@code ok}, how many records were checked, and where and why the chain broke; or, with
     * {@code tornTail}, that every record verified but the last line is a torn tail ({@code ok} is then false:
     * the file is not clean, but the chain before it is intact).
     */
    public record Result(boolean ok, long records, Path file, long line, String problem, boolean tornTail) {
        @Override
        public String toString() {
            if (ok) {
                return "ok: " + records + " records, chain intact";
            }
            if (tornTail) {
                return file + ":" + line + ": torn tail: " + problem + " (a write cut short by a crash; the "
                        + records + " records before it verified, chain intact; the sidecar moves it aside to a "
                        + "side file at its next start)";
            }
            return file + ":" + line + ": " + problem + " (" + records + " records before it verified)";
        }
    }

    /**
     * @param expectFirstPrevHash the {@code prev_hash} the first record must carry, or null to accept any (a
     *     verification that starts in the middle of a rotated set)
     * @throws IOException if a file cannot be read
     */
    public static Result verify(List<Path> files, String expectFirstPrevHash) throws IOException {
        String prev = expectFirstPrevHash;
        long records = 0;
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            boolean lastFile = f == files.size() - 1;
            boolean terminated = endsWithNewline(file);
            long lineNo = 0;
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String next = in.readLine();
                while (next != null) {
                    String line = next;
                    next = in.readLine();
                    lineNo++;
                    if (line.isBlank()) {
                        continue;
                    }
                    boolean tail = lastFile && next == null;
                    JsonNode node;
                    try {
                        node = AuditCodec.parse(line);
                    } catch (IOException e) {
                        return broken(records, file, lineNo, "not a JSON record", tail);
                    }
                    if (!node.hasNonNull("hash") || !node.hasNonNull("prev_hash")) {
                        return broken(records, file, lineNo, "record without hash or prev_hash", tail);
                    }
                    String hash = node.get("hash").asText();
                    if (!AuditCodec.rehash(node).equals(hash)) {
                        return broken(records, file, lineNo, "record altered (hash does not match)",
                                tail && !terminated);
                    }
                    if (prev != null && !prev.equals(node.get("prev_hash").asText())) {
                        return broken(records, file, lineNo,
                                "chain broken: prev_hash is not the previous record's hash "
                                        + "(a record before it was removed, reordered or replaced)", false);
                    }
                    prev = hash;
                    records++;
                }
            }
        }
        return new Result(true, records, null, 0, null, false);
    }

    private static Result broken(long records, Path file, long lineNo, String problem, boolean tornTail) {
        return new Result(false, records, file, lineNo,
                tornTail ? "last line is not a whole record (" + problem + ")" : problem, tornTail);
    }

    private static boolean endsWithNewline(Path file) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            if (length == 0) {
                return true;
            }
            raf.seek(length - 1);
            return raf.read() == '\n';
        }
    }

    /** Verifies from the start of a chain (the first record must link to the genesis hash). */
    public static Result verifyFromGenesis(List<Path> files) throws IOException {
        return verify(files, AuditCodec.GENESIS);
    }
}
