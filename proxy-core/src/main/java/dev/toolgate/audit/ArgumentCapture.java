package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.toolgate.mcp.CanonicalJson;
import dev.toolgate.mcp.McpMessage;
import dev.toolgate.mcp.McpRequest;
import dev.toolgate.config.RouteAuditConfig;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What the audit trail (and anything else that shows a call to people, such as an approval) may record of a call's
 * arguments: their digest always, the values of named arguments only where a route opts in, and those always
 * redacted.
 *
 * <p><b>Digest</b> ({@link #digest}): SHA-256, lower-case hex, over the UTF-8 bytes of the arguments' canonical JSON
 * ({@link #canonicalJson}): object keys sorted (by {@link String#compareTo}), no whitespace, strings with JSON's
 * minimal escaping, numbers as the parser read them. The same arguments always give the same digest, however the
 * agent ordered or spaced them.
 *
 * <p><b>Capture</b> ({@link #capture}): for each name the route lists that is a top-level argument, one string: a
 * string argument as it is, any other value as canonical JSON. Then redaction, always, in this order:
 * <ol>
 *   <li>inside objects, the value of every key whose name looks like a secret ({@code password}, {@code passwd},
 *       {@code secret}, {@code token}, {@code apikey}/{@code api_key}/{@code api-key}, {@code access_key},
 *       {@code private_key}, {@code credential}, {@code authorization}, {@code cookie}: contained in the name, any
 *       case) is replaced by {@code [REDACTED]}; a captured argument with such a name is replaced whole;
 *   <li>the built-in patterns of {@link Redaction} (private key blocks, {@code Bearer}/{@code Basic} credentials,
 *       {@code tg1.} task tokens, JWT-shaped strings, AWS access key ids, well-known API key prefixes,
 *       {@code password=}/{@code secret:} style pairs, e-mail addresses, and runs of 32 or more token characters
 *       with a Shannon entropy of at least 4.2 bits per character);
 *   <li>the route's own {@code redact} patterns (each match becomes {@code [REDACTED]});
 *   <li>a cap of {@value #MAX_VALUE_CHARS} characters (longer values are cut and say how long they were).
 * </ol>
 *
 * <p>Immutable and thread-safe.
 */
public final class ArgumentCapture {
    /** Longest captured value written, in characters, after redaction. */
    public static final int MAX_VALUE_CHARS = 256;
    /** Captures nothing: only the digest is recorded (a route without {@code audit.captureArgs}). */
    public static final ArgumentCapture NONE = new ArgumentCapture(List.of(), List.of());


    private final List<String> names;
    private final List<Pattern> routePatterns;

    private ArgumentCapture(List<String> names, List<Pattern> routePatterns) {
        this.names = names;
        this.routePatterns = routePatterns;
    }

    /** The capture a route's {@code audit} settings ask for; {@link #NONE} for null. */
    public static ArgumentCapture of(RouteAuditConfig config) {
        return config == null ? NONE : new ArgumentCapture(config.captureArgs(), config.redactPatterns());
    }

    /**
     * The redacted values of the arguments {@code config} names, by name (sorted); empty when the route captures
     * nothing, {@code arguments} is null or not an object, or none of the names is present. Compiles the route's
     * patterns on each call: a caller on a hot path keeps an instance from {@link #of} instead.
     */
    public static Map<String, String> capture(RouteAuditConfig config, JsonNode arguments) {
        return of(config).capture(arguments);
    }

    /** Whether this capture records any values (false: digest only). */
    public boolean captures() {
        return !names.isEmpty();
    }

    /**
     * The redacted values of the named arguments present in {@code arguments}, by name (sorted); empty when
     * nothing is captured. Never returns a raw value.
     */
    public Map<String, String> capture(JsonNode arguments) {
        if (names.isEmpty() || arguments == null || !arguments.isObject()) {
            return Map.of();
        }
        Map<String, String> out = new TreeMap<>();
        for (String name : names) {
            JsonNode v = arguments.get(name);
            if (v == null) {
                continue;
            }
            String text;
            if (Redaction.secretName(name)) {
                text = Redaction.MARK;
            } else {
                text = v.isTextual() ? v.textValue() : CanonicalJson.string(v, Redaction::secretName, Redaction.MARK);
                text = Redaction.builtIn(text);
                for (Pattern p : routePatterns) {
                    text = p.matcher(text).replaceAll(Redaction.MARK);
                }
            }
            out.put(name, cap(text));
        }
        return Collections.unmodifiableMap(out);
    }

    /** What a decision record says of an MCP request's arguments: their digest (or null) and the captured values. */
    public record Recorded(String digest, Map<String, String> args) {}

    /**
     * The {@code args_digest} and {@code args} of an MCP request: for one message its arguments' digest and captured
     * values; for a batch the digest of the JSON array of every message's arguments ({@code null} where a message has
     * none; no digest when none has any) and the captured values named {@code <index>.<name>}. The data plane and
     * Envoy's ext_authz check record the same.
     */
    public Recorded record(McpRequest request) {
        List<McpMessage> messages = request.messages();
        if (!request.batch()) {
            JsonNode a = messages.get(0).arguments();
            return new Recorded(digest(a), capture(a));
        }
        ArrayNode all = JsonNodeFactory.instance.arrayNode(messages.size());
        Map<String, String> captured = new TreeMap<>();
        boolean any = false;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode a = messages.get(i).arguments();
            all.add(a == null ? JsonNodeFactory.instance.nullNode() : a);
            any |= a != null;
            for (Map.Entry<String, String> e : capture(a).entrySet()) {
                captured.put(i + "." + e.getKey(), e.getValue());
            }
        }
        return new Recorded(any ? digest(all) : null, captured);
    }

    /** SHA-256 (hex) of the canonical JSON of {@code arguments} ({@link CanonicalJson}); null when there are none. */
    public static String digest(JsonNode arguments) {
        return arguments == null ? null : CanonicalJson.sha256(arguments);
    }

    /** The canonical JSON of {@code node}: keys sorted, no whitespace (what {@link #digest} hashes). */
    public static String canonicalJson(JsonNode node) {
        return CanonicalJson.string(requireNonNull(node, "node"));
    }

    private static String cap(String text) {
        if (text.length() <= MAX_VALUE_CHARS) {
            return text;
        }
        int end = MAX_VALUE_CHARS;
        if (Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(0, end) + "...(" + text.length() + " chars)";
    }
}
