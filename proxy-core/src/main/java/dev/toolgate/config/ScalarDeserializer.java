package dev.toolgate.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import java.io.IOException;
import java.util.function.Function;

/**
 * Reads a YAML scalar through a parser of ours ({@code 250ms}, {@code protocol: mcp}); a value the parser refuses
 * becomes a mapping error at the value's own line, with the parser's message (what was expected). Used by the
 * sidecar, route and policy loaders alike. Stateless and thread-safe.
 *
 * @param <T> the parsed type
 */
public final class ScalarDeserializer<T> extends JsonDeserializer<T> {
    private final Function<String, T> parse;

    /** @param parse turns the scalar's text into a value; throws {@link IllegalArgumentException} to refuse it */
    public ScalarDeserializer(Function<String, T> parse) {
        this.parse = requireNonNull(parse, "parse");
    }

    @Override
    public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        try {
            return parse.apply(p.getValueAsString(""));
        } catch (IllegalArgumentException e) {
            throw JsonMappingException.from(p, e.getMessage(), e);
        }
    }
}
