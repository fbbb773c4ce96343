package dev.toolgate.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Checks the hash chain of audit files, in the order given (older files first): every record's {@code hash}
 * matches its content and its {@code prev_hash} is the previous record's {@code hash}. Reports the first break.
 * Stateless.
 */
public final class AuditVerifier {
    private AuditVerifier() {}

    /** The result: {@code ok}, how many records were checked, and where and why the chain broke. */
    public record Result(boolean ok, long records, Path file, long line, String problem) {
        @Override
        public String toString() {
            return ok ? "ok: " + records + " records, chain intact"
                    : file + ":" + line + ": " + problem + " (" + records + " records before it verified)";
        }
    }

    /**
     * @param expectFirstPrevHash the {@code prev_hash} the first record must carry, or null to accept any (a
     *     verification that starts in the middle of a rotated set)
     */
    public static Result verify(List<Path> files, String expectFirstPrevHash) throws IOException {
        String prev = expectFirstPrevHash;
        long records = 0;
        for (Path file : files) {
            long lineNo = 0;
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lineNo++;
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonNode node;
                    try {
                        node = AuditCodec.parse(line);
                    } catch (IOException e) {
                        return new Result(false, records, file, lineNo, "not a JSON record");
                    }
                    if (!node.hasNonNull("hash") || !node.hasNonNull("prev_hash")) {
                        return new Result(false, records, file, lineNo, "record without hash or prev_hash");
                    }
                    String hash = node.get("hash").asText();
                    if (!AuditCodec.rehash(node).equals(hash)) {
                        return new Result(false, records, file, lineNo, "record altered (hash does not match)");
                    }
                    if (prev != null && !prev.equals(node.get("prev_hash").asText())) {
                        return new Result(false, records, file, lineNo,
                                "chain broken: prev_hash is not the previous record's hash "
                                        + "(a record before it was removed, reordered or replaced)");
                    }
                    prev = hash;
                    records++;
                }
            }
        }
        return new Result(true, records, null, 0, null);
    }

    /** Verifies from the start of a chain (the first record must link to the genesis hash). */
    public static Result verifyFromGenesis(List<Path> files) throws IOException {
        return verify(files, AuditCodec.GENESIS);
    }
}
