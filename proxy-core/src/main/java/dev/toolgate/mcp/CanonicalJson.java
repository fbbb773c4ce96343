package dev.toolgate.mcp;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;

/**
 * A JSON value in one canonical form, so equal values have equal digests however they were written: object keys
 * sorted (by UTF-16 code units, as RFC 8785 does), no whitespace, strings escaped the way Jackson writes them,
 * numbers in the parsed value's own textual form ({@code 1} and {@code 1.0} stay different: an upstream may read
 * them apart). The one canonical form of the project: the {@code args_digest} of audit and approval records and the
 * tool-definition digests of {@code tools/list} answers all come from here.
 *
 * <p>Thread-safe: no state.
 */
public final class CanonicalJson {
    private static final JsonFactory JSON = new JsonFactory();

    private CanonicalJson() {}

    /** The canonical UTF-8 bytes of {@code value}. */
    public static byte[] bytes(JsonNode value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            write(g, value, k -> false, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array stream does not fail
        }
        return out.toByteArray();
    }

    /** The canonical form of {@code value} as a string. */
    public static String string(JsonNode value) {
        return new String(bytes(value), java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The canonical form of {@code value} with the value of every object key that {@code hidden} accepts replaced by
     * the string {@code mask} (redaction of secret-named keys before a value is shown).
     */
    public static String string(JsonNode value, Predicate<String> hidden, String mask) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            write(g, value, hidden, mask);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new String(out.toByteArray(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Hex SHA-256 of the canonical bytes of {@code value}. */
    public static String sha256(JsonNode value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes(value)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }

    private static void write(JsonGenerator g, JsonNode v, Predicate<String> hidden, String mask)
            throws IOException {
        if (v.isObject()) {
            List<String> names = new ArrayList<>(v.size());
            for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
                names.add(it.next());
            }
            names.sort(null);
            g.writeStartObject();
            for (String n : names) {
                g.writeFieldName(n);
                if (hidden.test(n)) {
                    g.writeString(mask);
                } else {
                    write(g, v.get(n), hidden, mask);
                }
            }
            g.writeEndObject();
        } else if (v.isArray()) {
            g.writeStartArray();
            for (JsonNode e : v) {
                write(g, e, hidden, mask);
            }
            g.writeEndArray();
        } else if (v.isTextual()) {
            g.writeString(v.textValue());
        } else if (v.isBoolean()) {
            g.writeBoolean(v.booleanValue());
        } else if (v.isNumber()) {
            g.writeNumber(v.asText()); // as parsed
        } else {
            g.writeNull(); // null, and nothing else a parsed document holds
        }
    }
}
