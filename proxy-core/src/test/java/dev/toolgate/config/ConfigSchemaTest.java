package dev.toolgate.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Config hygiene: every YAML file shipped in {@code config/} is valid against its JSON schema in
 * {@code config/schema/} (the schemas editors and CI use), and every schema is itself well formed. A file no rule
 * below assigns a schema to fails the test, so a new example cannot be shipped unchecked.
 */
class ConfigSchemaTest {
    private static final Path CONFIG = Path.of("../config");
    private static final ObjectMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Which schema each shipped file is checked against, by its path under config/. */
    private static String schemaOf(String relative) {
        if (relative.startsWith("policies/tests/")) {
            return "policy-tests.schema.json";
        }
        if (relative.startsWith("policies/") || relative.equals("demo/policies.yaml")) {
            return "policy.schema.json";
        }
        if (relative.startsWith("routes/") || relative.equals("demo/routes.yaml")) {
            return "routes.schema.json";
        }
        if (relative.equals("toolgate.yaml") || relative.equals("demo/sidecar.yaml")) {
            return "sidecar.schema.json";
        }
        return null;
    }

    private static Schema schema(String name) throws IOException {
        JsonNode node = JSON.readTree(CONFIG.resolve("schema").resolve(name).toFile());
        // The schemas refer to each other by their $id; they are read from config/schema, never fetched.
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                b -> b.schemas(ConfigSchemaTest::localSchema)).getSchema(node);
    }

    /**
     * The file as the sidecar reads it: the demo's route file is a template whose upstream URLs the demo fills in
     * with its own servers' addresses (Demo), so it is checked as filled in.
     */
    private static String rendered(String relative, Path f) throws IOException {
        String text = Files.readString(f);
        if (relative.equals("demo/routes.yaml")) {
            assertThat(text).contains("${TOOL_URL}");
            text = text.replace("${WEATHER_URL}", "http://127.0.0.1:8080").replace("${TOOL_URL}",
                    "http://127.0.0.1:8080");
        }
        return text;
    }

    /** The text of a schema of ours by its $id, from config/schema; null for any other IRI. */
    private static String localSchema(String iri) {
        String prefix = "https://toolgate.dev/schema/";
        if (!iri.startsWith(prefix)) {
            return null;
        }
        try {
            return Files.readString(CONFIG.resolve("schema").resolve(iri.substring(prefix.length())));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> problems(Schema schema, JsonNode doc) {
        List<String> out = new ArrayList<>();
        for (Error e : schema.validate(doc)) {
            out.add(e.getInstanceLocation() + ": " + e.getMessage());
        }
        return out;
    }

    @Test
    void everyShippedConfigFileIsValidAgainstItsSchema() throws Exception {
        Map<String, List<String>> failures = new LinkedHashMap<>();
        List<String> checked = new ArrayList<>();
        try (Stream<Path> files = Files.walk(CONFIG)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String relative = CONFIG.relativize(f).toString().replace('\\', '/');
                if (relative.startsWith("schema/")) {
                    continue;
                }
                String schema = schemaOf(relative);
                if (schema == null) {
                    failures.put(relative, List.of("no schema assigned (add it to ConfigSchemaTest.schemaOf)"));
                    continue;
                }
                List<String> problems = problems(schema(schema), YAML.readTree(rendered(relative, f)));
                if (!problems.isEmpty()) {
                    failures.put(relative + " (" + schema + ")", problems);
                }
                checked.add(relative);
            }
        }
        assertThat(failures).isEmpty();
        assertThat(checked).contains("toolgate.yaml", "demo/sidecar.yaml", "demo/routes.yaml", "demo/policies.yaml",
                "routes/examples.yaml", "policies/example.yaml", "policies/tests/research-agents.yaml");
    }

    @Test
    void theSchemasRefuseWhatTheLoadersRefuse() throws Exception {
        // The check above is not vacuous: a misspelt key, a wrong enum value, a test case without an expectation.
        assertThat(problems(schema("policy.schema.json"), YAML.readTree("""
                kind: Policy
                name: p
                subjects: ["spiffe://t.test/agents/*"]
                mode: enforced
                """))).singleElement().asString().contains("/mode");
        assertThat(problems(schema("routes.schema.json"), YAML.readTree("""
                routes:
                  - name: w
                    prefix: /w
                    upstream: {url: "http://127.0.0.1:9"}
                    lables: [pii]
                """))).isNotEmpty();
        assertThat(problems(schema("policy-tests.schema.json"), YAML.readTree("""
                cases:
                  - name: x
                    caller: spiffe://t.test/a
                    call: {route: w, operation: GET /}
                """))).singleElement().asString().contains("expect");
        assertThat(problems(schema("sidecar.schema.json"), YAML.readTree("""
                listner: {port: 1}
                """))).isNotEmpty();
    }
}
