package dev.toolgate.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Where each key and list element of a YAML document starts, so an error found after reading can name its line.
 * Built from the token stream (Jackson's tree keeps no locations); a document that does not parse gives what was
 * read before the error. Shared by the loaders of every YAML file the sidecar reads (sidecar, routes, policy).
 *
 * <p>Immutable and thread-safe; throws nothing (an unparsable document indexes what came before the error).
 */
public final class YamlLines {
    private static final YAMLFactory YAML = new YAMLFactory();

    private final Map<String, Integer> lines;

    private YamlLines(Map<String, Integer> lines) {
        this.lines = lines;
    }

    /** Indexes {@code text}. */
    public static YamlLines index(String text) {
        Map<String, Integer> lines = new HashMap<>();
        try (JsonParser p = YAML.createParser(text)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    continue;
                }
                String pointer = (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY
                        ? p.getParsingContext().getParent() : p.getParsingContext()).pathAsPointer().toString();
                lines.putIfAbsent(pointer, p.currentTokenLocation().getLineNr());
            }
        } catch (IOException | RuntimeException e) {
            // Keep what was indexed; the reader reports the syntax error itself.
        }
        return new YamlLines(lines);
    }

    /**
     * The line of {@code path} ({@code allow[0].operations[1]}), or of its nearest enclosing element when it has
     * none (a missing key); -1 when unknown.
     */
    public int line(String path) {
        String pointer = path.isEmpty() ? "" : "/" + path.replace("[", "/").replace("]", "").replace('.', '/');
        while (true) {
            Integer line = lines.get(pointer);
            if (line != null) {
                return line;
            }
            if (pointer.isEmpty()) {
                return -1;
            }
            pointer = pointer.substring(0, pointer.lastIndexOf('/'));
        }
    }
}
