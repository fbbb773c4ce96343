package dev.toolgate.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cel.common.values.NullValue;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns JSON values (a Jackson tree or plain Java values) into what CEL reads: maps with string keys, lists,
 * strings, {@code int} (Long), {@code double}, {@code bool} and {@code null}. Bounded in depth, so a hostile
 * document cannot exhaust the stack here (the MCP parser bounds it earlier too).
 */
final class CelValues {
    static final int MAX_DEPTH = 64;

    private CelValues() {}

    /** @throws IllegalArgumentException for a value that is not JSON-shaped or nests deeper than the limit */
    static Object of(Object value) {
        return convert(value, 0);
    }

    private static Object convert(Object v, int depth) {
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("arguments nest deeper than " + MAX_DEPTH);
        }
        if (v == null) {
            return NullValue.NULL_VALUE;
        }
        if (v instanceof JsonNode n) {
            return json(n, depth);
        }
        if (v instanceof String || v instanceof Boolean || v instanceof Long || v instanceof Double) {
            return v;
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        if (v instanceof BigInteger b) {
            return b.bitLength() < 64 ? (Object) b.longValue() : (Object) b.doubleValue();
        }
        if (v instanceof BigDecimal d) {
            return d.doubleValue();
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new HashMap<>(Math.max(4, m.size() * 2));
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("argument map key is not a string");
                }
                out.put(key, convert(e.getValue(), depth + 1));
            }
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object o : l) {
                out.add(convert(o, depth + 1));
            }
            return out;
        }
        throw new IllegalArgumentException("argument of type " + v.getClass().getSimpleName() + " is not JSON");
    }

    private static Object json(JsonNode n, int depth) {
        switch (n.getNodeType()) {
            case OBJECT: {
                Map<String, Object> out = new HashMap<>(Math.max(4, n.size() * 2));
                for (Map.Entry<String, JsonNode> e : n.properties()) {
                    out.put(e.getKey(), convert(e.getValue(), depth + 1));
                }
                return out;
            }
            case ARRAY: {
                List<Object> out = new ArrayList<>(n.size());
                for (JsonNode e : n) {
                    out.add(convert(e, depth + 1));
                }
                return out;
            }
            case STRING:
                return n.textValue();
            case BOOLEAN:
                return n.booleanValue();
            case NUMBER:
                if (n.isIntegralNumber()) {
                    return n.canConvertToLong() ? (Object) n.longValue() : (Object) n.doubleValue();
                }
                return n.doubleValue();
            case NULL:
            case MISSING:
                return NullValue.NULL_VALUE;
            default:
                throw new IllegalArgumentException("argument of JSON type " + n.getNodeType() + " is not JSON");
        }
    }
}
