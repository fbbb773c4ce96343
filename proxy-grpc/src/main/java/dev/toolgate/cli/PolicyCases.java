package dev.toolgate.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.YamlLines;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads {@code policy test} files: a YAML mapping with {@code cases:}, a list of {@link PolicyCase}s. Strict: an
 * unknown key, a missing field or a value of the wrong kind refuses the file with an error naming file, line and
 * key. Stateless and thread-safe.
 */
final class PolicyCases {
    /** The time a case is decided at unless it says {@code at:} (fixed, so office-hours conditions are repeatable). */
    static final Instant DEFAULT_AT = Instant.parse("2026-01-05T12:00:00Z");

    private static final ObjectMapper YAML = JsonMapper.builder(new YAMLFactory())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final Set<String> FILE_KEYS = Set.of("cases");
    private static final Set<String> CASE_KEYS = Set.of("name", "caller", "proof", "purpose", "grants", "history",
            "at", "call", "expect", "rule");
    private static final Set<String> GRANT_KEYS = Set.of("route", "operations", "condition", "budget", "ttl");
    private static final Set<String> HISTORY_KEYS = Set.of("labels", "calls");
    private static final Set<String> CALL_KEYS = Set.of("route", "operation", "method", "target", "arguments",
            "headers");

    private PolicyCases() {}

    /** Thrown for a test file that cannot be read or is not valid; the message names file, line and key. */
    static final class BadCase extends Exception {
        BadCase(String message) {
            super(message);
        }
    }

    /** The cases of {@code file}, in order. */
    static List<PolicyCase> read(Path file) throws BadCase {
        String text;
        JsonNode root;
        try {
            text = Files.readString(file);
            root = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadCase(file + ":" + e.getLocation().getLineNr() + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadCase(file + ": cannot read: " + e.getMessage());
        }
        Reader r = new Reader(file.toString(), YamlLines.index(text));
        if (root == null || !root.isObject()) {
            throw r.fail("", "expected: a mapping with cases:");
        }
        r.keys(root, "", FILE_KEYS);
        JsonNode cases = root.get("cases");
        if (cases == null || !cases.isArray() || cases.isEmpty()) {
            throw r.fail("cases", "expected: a list of one or more cases");
        }
        List<PolicyCase> out = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            out.add(r.testCase(cases.get(i), "cases[" + i + "]"));
        }
        return out;
    }

    /** Reads one file's values, naming the line of a bad one. */
    private static final class Reader {
        private final String file;
        private final YamlLines lines;

        Reader(String file, YamlLines lines) {
            this.file = file;
            this.lines = lines;
        }

        BadCase fail(String path, String message) {
            int line = lines.line(path);
            return new BadCase(file + (line > 0 ? ":" + line : "") + ": " + (path.isEmpty() ? "" : path + ": ")
                    + message);
        }

        void keys(JsonNode node, String path, Set<String> allowed) throws BadCase {
            if (!node.isObject()) {
                throw fail(path, "expected: a mapping");
            }
            Iterator<String> names = node.fieldNames();
            while (names.hasNext()) {
                String k = names.next();
                if (!allowed.contains(k)) {
                    throw fail(path.isEmpty() ? k : path + "." + k, "unknown key (expected one of "
                            + String.join(", ", allowed.stream().sorted().toList()) + ")");
                }
            }
        }

        PolicyCase testCase(JsonNode c, String path) throws BadCase {
            keys(c, path, CASE_KEYS);
            String name = text(c, path, "name", true);
            String expect = text(c, path, "expect", true).toUpperCase(Locale.ROOT);
            return parse(c, path, name, expect, text(c, path, "rule", false));
        }

        private PolicyCase parse(JsonNode c, String path, String name, String expect, String rule) throws BadCase {
            SpiffeId caller;
            try {
                caller = SpiffeId.parse(text(c, path, "caller", true));
            } catch (IllegalArgumentException e) {
                throw fail(path + ".caller", e.getMessage());
            }
            IdentityProof proof = IdentityProof.X509;
            String p = text(c, path, "proof", false);
            if (p != null) {
                if (!p.equals("x509") && !p.equals("jwt")) {
                    throw fail(path + ".proof", "\"" + p + "\" (expected: x509 or jwt)");
                }
                proof = p.equals("jwt") ? IdentityProof.JWT : IdentityProof.X509;
            }
            String purpose = text(c, path, "purpose", false);
            List<GrantRequest> grants = c.has("grants") ? grants(c.get("grants"), path + ".grants") : null;
            Set<String> labels = Set.of();
            long calls = 0;
            JsonNode h = c.get("history");
            if (h != null) {
                keys(h, path + ".history", HISTORY_KEYS);
                labels = new LinkedHashSet<>(strings(h.get("labels"), path + ".history.labels"));
                JsonNode n = h.get("calls");
                if (n != null && (!n.canConvertToLong() || !n.isIntegralNumber() || n.asLong() < 0)) {
                    throw fail(path + ".history.calls", "expected: a whole number >= 0");
                }
                calls = n == null ? (labels.isEmpty() ? 0 : 1) : n.asLong();
                if (!labels.isEmpty() && calls < 1) {
                    throw fail(path + ".history.calls", "0 with labels touched (expected: >= 1)");
                }
            }
            if (h != null && grants == null) {
                throw fail(path + ".history", "a history needs a task (expected: grants)");
            }
            Instant at = DEFAULT_AT;
            String when = text(c, path, "at", false);
            if (when != null) {
                try {
                    at = Instant.parse(when);
                } catch (DateTimeParseException e) {
                    throw fail(path + ".at", "\"" + when + "\" (expected: an instant such as 2026-01-05T12:00:00Z)");
                }
            }
            JsonNode call = c.get("call");
            if (call == null) {
                throw fail(path + ".call", "missing (expected: route and operation, or method and target)");
            }
            int line = lines.line(path);
            return new PolicyCase(line > 0 ? file + ":" + line : file, name, caller, proof,
                    purpose == null ? "policy test" : purpose, grants, labels, calls, at,
                    call(call, path + ".call"), expect, rule);
        }

        private List<GrantRequest> grants(JsonNode g, String path) throws BadCase {
            if (!g.isArray()) {
                throw fail(path, "expected: a list of grants (route, operations, condition, budget, ttl)");
            }
            List<GrantRequest> out = new ArrayList<>();
            for (int i = 0; i < g.size(); i++) {
                String at = path + "[" + i + "]";
                JsonNode e = g.get(i);
                keys(e, at, GRANT_KEYS);
                JsonNode budget = e.get("budget");
                if (budget != null && !budget.isIntegralNumber()) {
                    throw fail(at + ".budget", "expected: a whole number");
                }
                String ttl = text(e, at, "ttl", false);
                try {
                    out.add(new GrantRequest(text(e, at, "route", true), strings(e.get("operations"),
                            at + ".operations"), text(e, at, "condition", false),
                            budget == null ? null : budget.asLong(),
                            ttl == null ? null : ConfigLoader.parseDuration(ttl)));
                } catch (IllegalArgumentException ex) {
                    throw fail(at, ex.getMessage());
                }
            }
            return out;
        }

        private PolicyCase.CallSpec call(JsonNode c, String path) throws BadCase {
            keys(c, path, CALL_KEYS);
            Map<String, List<String>> headers = new LinkedHashMap<>();
            JsonNode h = c.get("headers");
            if (h != null) {
                if (!h.isObject()) {
                    throw fail(path + ".headers", "expected: a mapping of header names to values");
                }
                Iterator<Map.Entry<String, JsonNode>> it = h.fields();
                while (it.hasNext()) {
                    Map.Entry<String, JsonNode> e = it.next();
                    String at = path + ".headers." + e.getKey();
                    headers.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue().isArray()
                            ? strings(e.getValue(), at) : List.of(scalar(e.getValue(), at)));
                }
            }
            JsonNode args = c.get("arguments");
            if (args != null && !args.isObject()) {
                throw fail(path + ".arguments", "expected: a mapping of argument names to values");
            }
            try {
                return new PolicyCase.CallSpec(text(c, path, "route", false), text(c, path, "operation", false),
                        text(c, path, "method", false), text(c, path, "target", false), args, headers);
            } catch (IllegalArgumentException e) {
                throw fail(path, e.getMessage());
            }
        }

        private String text(JsonNode n, String path, String key, boolean required) throws BadCase {
            JsonNode v = n.get(key);
            if (v == null || v.isNull()) {
                if (required) {
                    throw fail(path + "." + key, "missing");
                }
                return null;
            }
            return scalar(v, path + "." + key);
        }

        private String scalar(JsonNode v, String path) throws BadCase {
            if (!v.isValueNode() || v.isNull()) {
                throw fail(path, "expected: a string");
            }
            return v.asText();
        }

        private List<String> strings(JsonNode v, String path) throws BadCase {
            if (v == null || !v.isArray()) {
                throw fail(path, "expected: a list of strings");
            }
            List<String> out = new ArrayList<>();
            for (int i = 0; i < v.size(); i++) {
                out.add(scalar(v.get(i), path + "[" + i + "]"));
            }
            return out;
        }
    }
}
