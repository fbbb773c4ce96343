package dev.toolgate.testing;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The records of an audit trail as a test sees them, read from a {@link MemoryAuditSink} or the trail's file: waits
 * (bounded, see {@link Await}) until the writer has written what it accepted or until the records a test expects
 * are there. The one copy of the "poll the audit until the record shows" helpers. Thread-safe.
 */
public final class AuditRecords {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AuditTrail trail;
    private final Supplier<List<String>> lines;

    private AuditRecords(AuditTrail trail, Supplier<List<String>> lines) {
        this.trail = requireNonNull(trail, "trail");
        this.lines = lines;
    }

    /** The records {@code trail} wrote to {@code sink}. */
    public static AuditRecords of(AuditTrail trail, MemoryAuditSink sink) {
        requireNonNull(sink, "sink");
        return new AuditRecords(trail, () -> sink.lines);
    }

    /** The records {@code trail} wrote to {@code file} (none while the file does not exist). */
    public static AuditRecords of(AuditTrail trail, Path file) {
        requireNonNull(file, "file");
        return new AuditRecords(trail, () -> {
            try {
                return Files.exists(file) ? Files.readAllLines(file) : List.of();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** Waits until {@code trail} has written every record it had accepted when called. */
    public static void awaitWritten(AuditTrail trail) throws Exception {
        long accepted = trail.accepted();
        Await.until("the audit writer to write " + accepted + " records", () -> trail.written() >= accepted);
    }

    /** Every record, once the writer has written what it accepted so far. */
    public List<JsonNode> all() throws Exception {
        awaitWritten(trail);
        return parse();
    }

    /** Every record's line as written, once the writer has written what it accepted so far. */
    public List<String> lines() throws Exception {
        awaitWritten(trail);
        return List.copyOf(lines.get());
    }

    /** The newest record that {@code match}es, waiting until there is one. */
    public JsonNode awaitLast(String what, Predicate<JsonNode> match) throws Exception {
        return Await.value("an audit record: " + what, () -> {
            List<JsonNode> all = parse();
            for (int i = all.size() - 1; i >= 0; i--) {
                if (match.test(all.get(i))) {
                    return Optional.of(all.get(i));
                }
            }
            return Optional.empty();
        });
    }

    /** The records that {@code match}, waiting until there are at least {@code expected}. */
    public List<JsonNode> awaitAll(String what, int expected, Predicate<JsonNode> match) throws Exception {
        return Await.value(expected + " audit records: " + what, () -> {
            List<JsonNode> found = parse().stream().filter(match).toList();
            return found.size() >= expected ? Optional.of(found) : Optional.empty();
        });
    }

    /** A predicate on one field's text value ({@code field("phase", "decision")}). */
    public static Predicate<JsonNode> field(String name, String value) {
        return n -> n.path(name).asText().equals(value);
    }

    private List<JsonNode> parse() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : lines.get()) {
            out.add(JSON.readTree(line));
        }
        return out;
    }
}
