package dev.toolgate.call;

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

/**
 * A JSON value in one canonical form, so equal values have equal digests however they were written: object keys
 * sorted (by UTF-16 code units, as RFC 8785 does), no whitespace, strings escaped the way Jackson writes them,
 * numbers as parsed. Used for digests that must not change when a server only reorders or reformats its JSON.
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
            write(g, value);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array stream does not fail
        }
        return out.toByteArray();
    }

    /** Hex SHA-256 of the canonical bytes of {@code value}. */
    public static String sha256(JsonNode value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes(value)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }

    private static void write(JsonGenerator g, JsonNode v) throws IOException {
        if (v.isObject()) {
            List<String> names = new ArrayList<>(v.size());
            for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) {
                names.add(it.next());
            }
            names.sort(null);
            g.writeStartObject();
            for (String n : names) {
                g.writeFieldName(n);
                write(g, v.get(n));
            }
            g.writeEndObject();
        } else if (v.isArray()) {
            g.writeStartArray();
            for (JsonNode e : v) {
                write(g, e);
            }
            g.writeEndArray();
        } else if (v.isTextual()) {
            g.writeString(v.textValue());
        } else if (v.isBoolean()) {
            g.writeBoolean(v.booleanValue());
        } else if (v.isBigDecimal()) {
            g.writeNumber(v.decimalValue());
        } else if (v.isBigInteger()) {
            g.writeNumber(v.bigIntegerValue());
        } else if (v.isIntegralNumber()) {
            g.writeNumber(v.longValue());
        } else if (v.isNumber()) {
            g.writeNumber(v.doubleValue());
        } else {
            g.writeNull(); // null, and nothing else a parsed document holds
        }
    }
}
