package dev.toolgate.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cel.common.values.NullValue;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.AbstractList;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.RandomAccess;
import java.util.Set;

/**
 * Turns JSON values (a Jackson tree or plain Java values) into what CEL reads: maps with string keys, lists,
 * strings, {@code int} (Long), {@code double}, {@code bool} and {@code null}. Bounded in depth, so a hostile
 * document cannot exhaust the stack here (the MCP parser bounds it earlier too).
 *
 * <p>A Jackson object or array is not copied: CEL gets a read-only {@link Map} or {@link List} view of it whose
 * values are converted when read, so a condition that reads one argument of a large call converts that argument,
 * not the whole tree, on each evaluation. Reading deeper than {@link #MAX_DEPTH} through a view throws, as a copy
 * would have. Plain Java maps and lists are copied.
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
            case OBJECT:
                return new ObjectView(n, depth);
            case ARRAY:
                return new ArrayView(n, depth);
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

    /** A Jackson object as a read-only map; each value converted when read. */
    private static final class ObjectView extends AbstractMap<String, Object> {
        private final JsonNode node;
        private final int depth;

        ObjectView(JsonNode node, int depth) {
            this.node = node;
            this.depth = depth;
        }

        @Override
        public Object get(Object key) {
            JsonNode v = key instanceof String k ? node.get(k) : null;
            return v == null ? null : convert(v, depth + 1);
        }

        @Override
        public boolean containsKey(Object key) {
            return key instanceof String k && node.has(k);
        }

        @Override
        public int size() {
            return node.size();
        }

        @Override
        public Set<Map.Entry<String, Object>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<Map.Entry<String, Object>> iterator() {
                    Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator();
                    return new Iterator<>() {
                        @Override
                        public boolean hasNext() {
                            return it.hasNext();
                        }

                        @Override
                        public Map.Entry<String, Object> next() {
                            Map.Entry<String, JsonNode> e = it.next();
                            return new AbstractMap.SimpleImmutableEntry<>(e.getKey(), convert(e.getValue(), depth + 1));
                        }
                    };
                }

                @Override
                public int size() {
                    return node.size();
                }
            };
        }
    }

    /** A Jackson array as a read-only list; each element converted when read. */
    private static final class ArrayView extends AbstractList<Object> implements RandomAccess {
        private final JsonNode node;
        private final int depth;

        ArrayView(JsonNode node, int depth) {
            this.node = node;
            this.depth = depth;
        }

        @Override
        public Object get(int index) {
            JsonNode v = node.get(index);
            if (v == null) {
                throw new IndexOutOfBoundsException("index " + index + " of an array of " + node.size());
            }
            return convert(v, depth + 1);
        }

        @Override
        public int size() {
            return node.size();
        }
    }
}
