package dev.toolgate.call;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;

/**
 * The audit's {@code args_digest}: SHA-256 (hex) of a call's arguments in canonical JSON (object keys sorted by
 * their UTF-16 code units, no whitespace, strings escaped as Jackson writes them, numbers in the textual form of
 * their parsed value). Two bodies
 * that differ only in key order or spacing have the same digest; any other difference gives another. What an
 * approval is given for (together with the task and the operation), and what an audit reader compares calls by
 * without seeing their arguments. Stateless and thread-safe.
 */
public final class ArgsDigest {
    private static final JsonFactory JSON = new JsonFactory();

    private ArgsDigest() {}

    /** The digest of {@code arguments}, or null for none (a call without arguments has no digest). */
    public static String of(JsonNode arguments) {
        if (arguments == null || arguments.isMissingNode()) {
            return null;
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(buf, JsonEncoding.UTF8)) {
            write(g, arguments);
        } catch (IOException e) {
            throw new UncheckedIOException("encoding to memory cannot fail", e);
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(buf.toByteArray()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
    }

    /** The digest of the arguments of an MCP message ({@code params.arguments}), or null when it has none. */
    public static String of(McpMessage message) {
        return message == null ? null : of(message.arguments());
    }

    private static void write(JsonGenerator g, JsonNode n) throws IOException {
        if (n.isObject()) {
            List<String> names = new ArrayList<>(n.size());
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                names.add(it.next());
            }
            Collections.sort(names);
            g.writeStartObject();
            for (String name : names) {
                g.writeFieldName(name);
                write(g, n.get(name));
            }
            g.writeEndObject();
        } else if (n.isArray()) {
            g.writeStartArray();
            for (JsonNode e : n) {
                write(g, e);
            }
            g.writeEndArray();
        } else if (n.isTextual()) {
            g.writeString(n.textValue());
        } else if (n.isNumber()) {
            // In the parsed value's own textual form: 1 and 1.0 stay different (an upstream may read them apart).
            g.writeNumber(n.asText());
        } else if (n.isBoolean()) {
            g.writeBoolean(n.booleanValue());
        } else {
            g.writeNull();
        }
    }
}
