package dev.toolgate.config;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * What the audit trail records of a route's call arguments beyond their digest ({@code audit:} of a route). By
 * default a record carries only {@code args_digest}; a route opts in to capture the values of named top-level
 * arguments of MCP {@code tools/call} and {@code prompts/get}. Captured values are always redacted (built-in
 * patterns for secrets and e-mail addresses, see {@code dev.toolgate.audit.ArgumentCapture}) and then by the
 * route's own {@code redact} patterns.
 *
 * @param captureArgs names of the top-level arguments whose values are recorded (1 to 32, distinct)
 * @param redact      Java regular expressions whose matches in a captured value are replaced by
 *                    {@code [REDACTED]}, on top of the built-in ones; may be empty
 */
public record RouteAuditConfig(List<String> captureArgs, List<String> redact) {
    /** Most arguments one route may capture. */
    public static final int MAX_CAPTURED = 32;
    private static final int MAX_NAME_CHARS = 128;
    private static final int MAX_PATTERN_CHARS = 1000;

    public RouteAuditConfig {
        if (captureArgs == null || captureArgs.isEmpty()) {
            throw new IllegalArgumentException("captureArgs: missing (expected: a list of argument names such as"
                    + " [repo, query])");
        }
        if (captureArgs.size() > MAX_CAPTURED) {
            throw new IllegalArgumentException("captureArgs: " + captureArgs.size() + " names (expected: at most "
                    + MAX_CAPTURED + ")");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < captureArgs.size(); i++) {
            String n = captureArgs.get(i);
            if (n == null || n.isBlank() || n.length() > MAX_NAME_CHARS || n.chars().anyMatch(Character::isISOControl)) {
                throw new IllegalArgumentException("captureArgs[" + i + "]: " + quote(n)
                        + " (expected: an argument name of 1.." + MAX_NAME_CHARS + " characters, no control characters)");
            }
            if (!seen.add(n)) {
                throw new IllegalArgumentException("captureArgs[" + i + "]: " + quote(n) + " is listed twice"
                        + " (expected: each name once)");
            }
        }
        captureArgs = List.copyOf(captureArgs);
        redact = redact == null ? List.of() : List.copyOf(redact);
        for (int i = 0; i < redact.size(); i++) {
            compile(redact.get(i), i);
        }
    }

    /** The route's own patterns, compiled (validated when the configuration was loaded). */
    public List<Pattern> redactPatterns() {
        Pattern[] out = new Pattern[redact.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = compile(redact.get(i), i);
        }
        return List.of(out);
    }

    private static Pattern compile(String regex, int i) {
        if (regex == null || regex.isEmpty() || regex.length() > MAX_PATTERN_CHARS) {
            throw new IllegalArgumentException("redact[" + i + "]: " + quote(regex)
                    + " (expected: a regular expression of 1.." + MAX_PATTERN_CHARS + " characters)");
        }
        Pattern p;
        try {
            p = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("redact[" + i + "]: " + quote(regex)
                    + " (expected: a Java regular expression: " + e.getDescription() + ")");
        }
        if (p.matcher("").matches()) {
            throw new IllegalArgumentException("redact[" + i + "]: " + quote(regex)
                    + " matches the empty string (expected: a pattern for the text to hide)");
        }
        return p;
    }

    private static String quote(String s) {
        return s == null ? "null" : '"' + s + '"';
    }
}
