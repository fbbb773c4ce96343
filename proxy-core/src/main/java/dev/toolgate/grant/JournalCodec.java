package dev.toolgate.grant;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.operation.OperationPattern;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.CRC32C;

/**
 * The JSON line of one journal record. A line is a compact JSON object, UTF-8, ending in {@code \n}:
 * {@code rev} (long), {@code type} ({@code started}, {@code ended}, {@code grant_revoked}, or {@code compacted}
 * for the marker a compaction writes first), {@code at} (ISO-8601 UTC, exact to the nanosecond), the event's
 * fields in snake_case, absent when null, and last {@code crc}: the CRC32C (8 lowercase hex digits) of the line's
 * bytes without that member, i.e. of the bytes before {@code ,"crc":} followed by <code>}</code>. The CRC is
 * checked on those exact bytes, so any altered byte is caught even when the line still parses.
 *
 * <p>Decoding is strict: unknown types and unknown fields are refused (an older sidecar must not ignore a field a
 * newer one wrote to narrow a grant). Stateless and thread-safe.
 */
final class JournalCodec {
    /** No line is longer (an encoded record is refused, a stored one is corrupt): bounds memory at open. */
    static final int MAX_LINE = 16 * 1024 * 1024;

    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final ObjectMapper MAPPER = new ObjectMapper(JSON)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final byte[] CRC_HEAD = ",\"crc\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final int CRC_DIGITS = 8;
    // The crc member's bytes: ,"crc":" then 8 hex digits then "}
    private static final int CRC_MEMBER = CRC_HEAD.length + CRC_DIGITS + 2;
    private static final HexFormat HEX = HexFormat.of();

    private static final String STARTED = "started";
    private static final String ENDED = "ended";
    private static final String GRANT_REVOKED = "grant_revoked";
    private static final String COMPACTED = "compacted";

    private static final Set<String> STARTED_FIELDS = Set.of("rev", "type", "at", "task", "crc");
    private static final Set<String> ENDED_FIELDS = Set.of("rev", "type", "at", "task_id", "state", "by", "reason",
            "crc");
    private static final Set<String> REVOKED_FIELDS = Set.of("rev", "type", "at", "task_id", "grant_id", "by",
            "reason", "crc");
    private static final Set<String> COMPACTED_FIELDS = Set.of("rev", "type", "at", "kept", "crc");
    private static final Set<String> TASK_FIELDS = Set.of("id", "subject", "started_by", "purpose", "parent_id",
            "depth", "created_at", "expires_at", "token_hash", "grants");
    private static final Set<String> GRANT_FIELDS = Set.of("id", "route", "operations", "condition", "budget",
            "expires_at");

    private JournalCodec() {}

    /** What a line holds. */
    sealed interface Line permits Entry, Marker {
        long rev();
    }

    /** An event and the revision it was recorded at. */
    record Entry(long rev, TaskEvent event) implements Line {}

    /**
     * The first line of a compacted journal: every event up to {@code rev} that is still kept follows it, {@code
     * kept} of them, with their original (so no longer consecutive) revisions.
     */
    record Marker(long rev, Instant at, long kept) implements Line {}

    /** The bytes or the JSON of a line are damaged (what a torn write leaves). */
    static final class DamagedException extends Exception {
        private static final long serialVersionUID = 1L;

        DamagedException(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }

    /** A line whose bytes are intact but whose content is not a record this version understands. */
    static final class InvalidException extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidException(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }

    /** The line recording {@code event} at {@code rev}, newline included. */
    static byte[] encode(long rev, TaskEvent event) {
        return line(rev, typeOf(event), event.at(), g -> fields(g, event));
    }

    /** The compaction marker line, newline included. */
    static byte[] encodeMarker(Marker marker) {
        return line(marker.rev(), COMPACTED, marker.at(), g -> g.writeNumberField("kept", marker.kept()));
    }

    private interface Fields {
        void write(JsonGenerator g) throws IOException;
    }

    private static byte[] line(long rev, String type, Instant at, Fields fields) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(512);
        try (JsonGenerator g = JSON.createGenerator(buf, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeNumberField("rev", rev);
            g.writeStringField("type", type);
            g.writeStringField("at", at.toString());
            fields.write(g);
            // The CRC covers what has been written so far plus the closing brace: the line without its crc member.
            g.flush();
            CRC32C crc = new CRC32C();
            crc.update(buf.toByteArray());
            crc.update('}');
            g.writeStringField("crc", HEX.toHexDigits((int) crc.getValue()));
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("encoding to memory cannot fail", e);
        }
        buf.write('\n');
        return buf.toByteArray();
    }

    private static String typeOf(TaskEvent event) {
        if (event instanceof TaskEvent.Started) {
            return STARTED;
        } else if (event instanceof TaskEvent.Ended) {
            return ENDED;
        } else if (event instanceof TaskEvent.GrantRevoked) {
            return GRANT_REVOKED;
        }
        throw new AssertionError("a new kind of TaskEvent needs a journal type: " + event.getClass());
    }

    private static void fields(JsonGenerator g, TaskEvent event) throws IOException {
        if (event instanceof TaskEvent.Started s) {
            g.writeFieldName("task");
            task(g, s.task());
        } else if (event instanceof TaskEvent.Ended e) {
            g.writeStringField("task_id", e.taskId());
            g.writeStringField("state", e.state().json());
            g.writeStringField("by", e.by());
            g.writeStringField("reason", e.reason());
        } else if (event instanceof TaskEvent.GrantRevoked r) {
            g.writeStringField("task_id", r.taskId());
            g.writeStringField("grant_id", r.grantId());
            g.writeStringField("by", r.by());
            g.writeStringField("reason", r.reason());
        }
    }

    private static void task(JsonGenerator g, Task t) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", t.id());
        g.writeStringField("subject", t.subject().uri());
        g.writeStringField("started_by", t.startedBy().uri());
        g.writeStringField("purpose", t.purpose());
        if (t.parentId() != null) {
            g.writeStringField("parent_id", t.parentId());
        }
        g.writeNumberField("depth", t.depth());
        g.writeStringField("created_at", t.createdAt().toString());
        g.writeStringField("expires_at", t.expiresAt().toString());
        g.writeStringField("token_hash", t.tokenHash());
        g.writeArrayFieldStart("grants");
        for (Grant gr : t.grants()) {
            g.writeStartObject();
            g.writeStringField("id", gr.id());
            g.writeStringField("route", gr.route());
            g.writeArrayFieldStart("operations");
            for (OperationPattern op : gr.operations()) {
                g.writeString(op.toString());
            }
            g.writeEndArray();
            if (gr.condition() != null) {
                g.writeStringField("condition", gr.condition());
            }
            if (gr.budget() != null) {
                g.writeNumberField("budget", gr.budget());
            }
            g.writeStringField("expires_at", gr.expiresAt().toString());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    /**
     * Decodes one line, {@code length} bytes of {@code bytes} without its newline.
     *
     * @throws DamagedException if the bytes fail the CRC or are not JSON
     * @throws InvalidException if they pass but do not hold a record of this format
     */
    static Line decode(byte[] bytes, int length) throws DamagedException, InvalidException {
        checkCrc(bytes, length);
        JsonNode node;
        try {
            node = MAPPER.readTree(JSON.createParser(bytes, 0, length));
        } catch (IOException e) {
            throw new DamagedException("not JSON: "
                    + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
        }
        if (node == null || !node.isObject()) {
            throw new DamagedException("not a JSON object", null);
        }
        try {
            return record(node);
        } catch (IllegalArgumentException e) {
            throw new InvalidException(e.getMessage(), e);
        }
    }

    private static void checkCrc(byte[] bytes, int length) throws DamagedException {
        int head = length - CRC_MEMBER;
        if (head < 1 || bytes[length - 1] != '}' || bytes[length - 2] != '"'
                || !Arrays.equals(bytes, head, head + CRC_HEAD.length, CRC_HEAD, 0, CRC_HEAD.length)) {
            throw new DamagedException("does not end in a crc member", null);
        }
        String stored = new String(bytes, head + CRC_HEAD.length, CRC_DIGITS, StandardCharsets.ISO_8859_1);
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, head);
        crc.update('}');
        String actual = HEX.toHexDigits((int) crc.getValue());
        if (!actual.equals(stored)) {
            throw new DamagedException("crc " + stored + " does not match the record (computed: " + actual + ")",
                    null);
        }
    }

    private static Line record(JsonNode n) {
        String type = text(n, "type");
        long rev = n.path("rev").isIntegralNumber() && n.get("rev").canConvertToLong() ? n.get("rev").longValue() : 0;
        if (rev < 1) {
            throw new IllegalArgumentException("rev: " + n.get("rev") + " (expected: an integer >= 1)");
        }
        Instant at = instant(n, "at");
        return switch (type) {
            case STARTED -> {
                only(n, "record", STARTED_FIELDS);
                yield new Entry(rev, new TaskEvent.Started(at, task(object(n, "task"))));
            }
            case ENDED -> {
                only(n, "record", ENDED_FIELDS);
                yield new Entry(rev, new TaskEvent.Ended(at, text(n, "task_id"), state(text(n, "state")),
                        text(n, "by"), text(n, "reason")));
            }
            case GRANT_REVOKED -> {
                only(n, "record", REVOKED_FIELDS);
                yield new Entry(rev, new TaskEvent.GrantRevoked(at, text(n, "task_id"), text(n, "grant_id"),
                        text(n, "by"), text(n, "reason")));
            }
            case COMPACTED -> {
                only(n, "record", COMPACTED_FIELDS);
                long kept = n.path("kept").isIntegralNumber() ? n.get("kept").asLong(-1) : -1;
                if (kept < 0) {
                    throw new IllegalArgumentException("kept: " + n.get("kept") + " (expected: an integer >= 0)");
                }
                yield new Marker(rev, at, kept);
            }
            default -> throw new IllegalArgumentException("type: \"" + type
                    + "\" (expected: started, ended, grant_revoked or compacted)");
        };
    }

    private static Task task(JsonNode t) {
        only(t, "task", TASK_FIELDS);
        JsonNode depth = t.get("depth");
        if (depth == null || !depth.isInt() || depth.intValue() < 0) {
            throw new IllegalArgumentException("task.depth: " + depth + " (expected: an integer >= 0)");
        }
        List<Grant> grants = new ArrayList<>();
        for (JsonNode g : array(t, "grants")) {
            grants.add(grant(g));
        }
        return new Task(text(t, "id"), SpiffeId.parse(text(t, "subject")), SpiffeId.parse(text(t, "started_by")),
                text(t, "purpose"), optionalText(t, "parent_id"), depth.intValue(), grants,
                instant(t, "created_at"), instant(t, "expires_at"), tokenHash(t));
    }

    /** The token's SHA-256 as {@link TaskToken#hash} writes it: the registry keys its lookups by these bytes. */
    private static String tokenHash(JsonNode t) {
        String hash = text(t, "token_hash");
        if (hash.length() != 64 || !hash.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
            throw new IllegalArgumentException("task.token_hash: \"" + (hash.length() > 80 ? hash.substring(0, 80)
                    + "..." : hash) + "\" (expected: 64 lowercase hex digits, the SHA-256 of the task token)");
        }
        return hash;
    }

    private static Grant grant(JsonNode g) {
        if (!g.isObject()) {
            throw new IllegalArgumentException("grant: " + g.getNodeType() + " (expected: an object)");
        }
        only(g, "grant", GRANT_FIELDS);
        List<OperationPattern> ops = new ArrayList<>();
        for (JsonNode op : array(g, "operations")) {
            if (!op.isTextual()) {
                throw new IllegalArgumentException("grant.operations: " + op + " (expected: a string)");
            }
            ops.add(OperationPattern.parse(op.textValue()));
        }
        Long budget = null;
        JsonNode b = g.get("budget");
        if (b != null && !b.isNull()) {
            if (!b.isIntegralNumber() || !b.canConvertToLong()) {
                throw new IllegalArgumentException("grant.budget: " + b + " (expected: an integer)");
            }
            budget = b.longValue();
        }
        return new Grant(text(g, "id"), text(g, "route"), ops, optionalText(g, "condition"), budget,
                instant(g, "expires_at"));
    }

    private static TaskState state(String s) {
        return switch (s) {
            case "ended" -> TaskState.ENDED;
            case "revoked" -> TaskState.REVOKED;
            default -> throw new IllegalArgumentException("state: \"" + s + "\" (expected: ended or revoked)");
        };
    }

    private static void only(JsonNode n, String where, Set<String> allowed) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!allowed.contains(name)) {
                throw new IllegalArgumentException(where + ": unknown field \"" + name + "\" (expected: "
                        + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(field + ": " + (v == null ? "missing" : v.getNodeType())
                    + " (expected: a string)");
        }
        return v.textValue();
    }

    private static String optionalText(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : text(n, field);
    }

    private static Instant instant(JsonNode n, String field) {
        String text = text(n, field);
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(field + ": \"" + text + "\" (expected: an ISO-8601 UTC instant)", e);
        }
    }

    private static JsonNode object(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isObject()) {
            throw new IllegalArgumentException(field + ": " + (v == null ? "missing" : v.getNodeType())
                    + " (expected: an object)");
        }
        return v;
    }

    private static JsonNode array(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isArray()) {
            throw new IllegalArgumentException(field + ": " + (v == null ? "missing" : v.getNodeType())
                    + " (expected: an array)");
        }
        return v;
    }
}
