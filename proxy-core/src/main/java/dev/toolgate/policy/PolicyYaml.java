package dev.toolgate.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.ScalarDeserializer;
import dev.toolgate.config.YamlErrors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * The YAML side of policy documents: strict reading into {@link PolicyFile} (unknown keys, duplicates, trailing
 * content and coerced scalars refused; errors name the file, line and key path) and the canonical JSON form the
 * policy version is a digest of. Stateless and thread-safe (the mappers are configured once and only read).
 */
final class PolicyYaml {
    /** Largest policy file read. */
    static final int MAX_FILE_CHARS = 1 << 20;

    private static final ObjectMapper YAML = JsonMapper.builder(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .addModule(new SimpleModule()
                    .addDeserializer(Duration.class, new ScalarDeserializer<>(ConfigLoader::parseDuration)))
            .build();

    /** Sorted keys, no nulls, durations as ISO text: comments, key order and layout do not change the version. */
    private static final ObjectMapper CANONICAL = JsonMapper.builder()
            .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .defaultPropertyInclusion(
                    JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
            .addModule(new SimpleModule().addSerializer(Duration.class, new DurationSerializer()))
            .build();

    private PolicyYaml() {}

    /** The canonical JSON of a document: comments, key order and layout do not change it. */
    static String canonical(PolicyFile raw) throws JsonProcessingException {
        return CANONICAL.writeValueAsString(raw);
    }

    /** The first 12 hex digits of SHA-256 over the canonical documents in name order. */
    static String version(List<String> canonicalDocs) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String c : canonicalDocs) {
                sha.update(c.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) '\n');
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    static PolicyFile read(PolicyCompiler.Source s) throws PolicyException {
        if (s.text().length() > MAX_FILE_CHARS) {
            throw new PolicyException(s.name() + ": " + s.text().length() + " characters (expected: <= "
                    + MAX_FILE_CHARS + ")");
        }
        if (s.text().isBlank()) {
            throw new PolicyException(s.name() + ": empty document (expected: a YAML mapping with kind: Policy)");
        }
        try {
            PolicyFile f = YAML.readValue(s.text(), PolicyFile.class);
            if (f == null) {
                throw new PolicyException(s.name() + ": empty document (expected: a YAML mapping with kind: Policy)");
            }
            return f;
        } catch (JsonProcessingException e) {
            throw new PolicyException(YamlErrors.describe(s.name(), null, e), e);
        }
    }

    private static final class DurationSerializer extends JsonSerializer<Duration> {
        @Override
        public void serialize(Duration value, JsonGenerator gen,
                              SerializerProvider serializers) throws IOException {
            gen.writeString(value.toString());
        }
    }
}
