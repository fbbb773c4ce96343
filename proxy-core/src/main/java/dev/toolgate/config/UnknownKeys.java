package dev.toolgate.config;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * Finds the first key of a YAML document that its typed model does not have, before the document is bound.
 * Jackson reports an unknown key of a record only after the record's constructor ran, so a misspelled key
 * ({@code prefx:}) would otherwise surface as the constructor's "prefix is required"; the person then looks for a
 * missing key that is in fact there. Walks records, lists and maps of records; anything else (scalars, durations)
 * is left to the binding.
 *
 * <p>Stateless and thread-safe; throws nothing.
 */
final class UnknownKeys {
    /** The first unknown key: its path as {@link YamlErrors#pathOf} writes it, and the keys that would do. */
    record Unknown(String path, String key, TreeSet<String> known) {}

    private UnknownKeys() {}

    /** The first key in {@code tree} (document order) that {@code type} does not have, or null. */
    static Unknown first(ObjectMapper mapper, JsonNode tree, Class<?> type) {
        return walk(mapper, tree, mapper.constructType(type), "");
    }

    private static Unknown walk(ObjectMapper mapper, JsonNode node, JavaType type, String path) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (type.isCollectionLikeType() && node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                Unknown u = walk(mapper, node.get(i), type.getContentType(), path + "[" + i + "]");
                if (u != null) {
                    return u;
                }
            }
            return null;
        }
        if (type.isMapLikeType() && node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                Unknown u = walk(mapper, e.getValue(), type.getContentType(), child(path, e.getKey()));
                if (u != null) {
                    return u;
                }
            }
            return null;
        }
        if (!type.getRawClass().isRecord() || !node.isObject()) {
            return null;
        }
        Map<String, JavaType> properties = properties(mapper, type);
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JavaType child = properties.get(e.getKey());
            if (child == null) {
                return new Unknown(child(path, e.getKey()), e.getKey(), new TreeSet<>(properties.keySet()));
            }
            Unknown u = walk(mapper, e.getValue(), child, child(path, e.getKey()));
            if (u != null) {
                return u;
            }
        }
        return null;
    }

    private static Map<String, JavaType> properties(ObjectMapper mapper, JavaType type) {
        BeanDescription d = mapper.getDeserializationConfig().introspect(type);
        Map<String, JavaType> out = new LinkedHashMap<>();
        for (BeanPropertyDefinition p : d.findProperties()) {
            out.put(p.getName(), p.getPrimaryType());
        }
        return out;
    }

    private static String child(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }
}
