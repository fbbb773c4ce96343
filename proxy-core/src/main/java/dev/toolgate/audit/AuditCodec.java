package dev.toolgate.audit;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Map;

/**
 * The canonical JSON line of a record and its hash. Canonical: the fields in DESIGN.md's order, absent ones left
 * out, {@code ts} in UTC with microseconds, compact, UTF-8. {@code hash} = SHA-256 (hex) of the canonical line
 * without the {@code hash} field (it includes {@code prev_hash}). Encoding uses Jackson's generator, never string
 * concatenation. Not thread-safe: one instance per writer thread.
 */
final class AuditCodec {
    static final String GENESIS = "0".repeat(64);
    private static final DateTimeFormatter TS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final JsonFactory JSON = new JsonFactory();
    private static final ObjectMapper MAPPER = new ObjectMapper(JSON);

    private final MessageDigest sha256;
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream(512);

    AuditCodec() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
    }

    /** The line for {@code r} chained to {@code prevHash}; {@link #lastHash()} is the new head afterwards. */
    String encode(AuditRecord r, String prevHash) {
        byte[] unsigned = write(r, prevHash, null);
        String hash = HexFormat.of().formatHex(sha256.digest(unsigned));
        lastHash = hash;
        return new String(write(r, prevHash, hash), StandardCharsets.UTF_8);
    }

    private String lastHash;

    String lastHash() {
        return lastHash;
    }

    private byte[] write(AuditRecord r, String prevHash, String hash) {
        buf.reset();
        try (JsonGenerator g = JSON.createGenerator(buf, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeStringField("phase", r.phaseName());
            g.writeStringField("ts", TS.format(r.ts()));
            g.writeStringField("decision_id", r.decisionId());
            str(g, "event", r.event());
            str(g, "actor", r.actor());
            str(g, "trace_id", r.traceId());
            str(g, "span_id", r.spanId());
            str(g, "agent", r.agent());
            str(g, "identity", r.identity());
            str(g, "task_id", r.taskId());
            str(g, "parent_task_id", r.parentTaskId());
            str(g, "purpose", r.purpose());
            str(g, "route", r.route());
            str(g, "protocol", r.protocol());
            str(g, "operation", r.operation());
            str(g, "args_digest", r.argsDigest());
            if (r.args() != null) {
                g.writeObjectFieldStart("args");
                for (java.util.Map.Entry<String, String> e : r.args().entrySet()) {
                    g.writeStringField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
            }
            str(g, "decision", r.decision());
            str(g, "code", r.code());
            str(g, "reason", r.reason());
            str(g, "grant_id", r.grantId());
            str(g, "policy", r.policy());
            str(g, "approval_id", r.approvalId());
            str(g, "mode", r.mode());
            num(g, "upstream_status", r.upstreamStatus() == null ? null : r.upstreamStatus().longValue());
            str(g, "outcome", r.outcome());
            num(g, "decision_us", r.decisionUs());
            num(g, "upstream_ms", r.upstreamMs());
            num(g, "bytes_in", r.bytesIn());
            num(g, "bytes_out", r.bytesOut());
            num(g, "count", r.count());
            if (r.firstTs() != null) {
                g.writeStringField("first_ts", TS.format(r.firstTs()));
            }
            if (r.lastTs() != null) {
                g.writeStringField("last_ts", TS.format(r.lastTs()));
            }
            if (r.tools() != null) {
                g.writeObjectFieldStart("tools");
                for (Map.Entry<String, String> t : r.tools().entrySet()) {
                    g.writeStringField(t.getKey(), t.getValue());
                }
                g.writeEndObject();
            }
            if (r.elements() != null) {
                g.writeArrayFieldStart("elements");
                for (AuditRecord.Element e : r.elements()) {
                    g.writeStartObject();
                    g.writeStringField("operation", e.operation());
                    g.writeStringField("code", e.code());
                    str(g, "grant_id", e.grantId());
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            if (r.sideFile() != null) {
                g.writeStringField("side_file", r.sideFile().name());
                g.writeNumberField("side_file_bytes", r.sideFile().bytes());
                g.writeStringField("side_file_sha256", r.sideFile().sha256());
            }
            g.writeStringField("prev_hash", prevHash);
            if (hash != null) {
                g.writeStringField("hash", hash);
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("encoding to memory cannot fail", e);
        }
        return buf.toByteArray();
    }

    private static void str(JsonGenerator g, String name, String value) throws IOException {
        if (value != null) {
            g.writeStringField(name, value);
        }
    }

    private static void num(JsonGenerator g, String name, Long value) throws IOException {
        if (value != null) {
            g.writeNumberField(name, value);
        }
    }

    /**
     * Recomputes the hash of a written line: parse, drop {@code hash}, re-encode in the order read. A line whose
     * bytes were altered in any way gives a different hash.
     */
    static String rehash(JsonNode line) throws IOException {
        // The writer emits args as one flat object of strings, which Jackson's tree writes back byte for byte.
        ObjectNode copy = ((ObjectNode) line).deepCopy();
        copy.remove("hash");
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return HexFormat.of().formatHex(sha.digest(MAPPER.writeValueAsBytes(copy)));
    }

    static JsonNode parse(String line) throws IOException {
        return MAPPER.readTree(line);
    }
}
