package dev.toolgate.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one translation of Jackson's errors while reading a YAML file into a message a person can act on:
 * {@code file:line: path.inside[1].it: what was wrong (expected: what would do)}. Used by the loaders of every YAML
 * file the sidecar reads (sidecar, routes, policy), so the same mistake reads the same way in each.
 *
 * <p>Stateless and thread-safe; throws nothing.
 */
public final class YamlErrors {
    private static final Pattern SCANNER_LINE = Pattern.compile("in '[^']*', line (\\d{1,9}), column");

    private YamlErrors() {}

    /**
     * What went wrong reading {@code source}.
     *
     * @param source the file's name as errors show it
     * @param lines  where the document's keys are (the error then names the line of the bad key); null: the line
     *               Jackson's parser was at
     * @param e      what Jackson threw
     * @param moved  keys that moved elsewhere (path as {@link #pathOf} writes it -> where it went): such a key is
     *               refused as {@code moved (expected: new.key)}
     */
    public static String describe(String source, YamlLines lines, JsonProcessingException e, Map<String, String> moved) {
        if (!(e instanceof JsonMappingException m)) {
            return notYaml(source, e);
        }
        JsonProcessingException syntax = syntaxError(m);
        if (syntax != null) {
            return notYaml(source, syntax);
        }
        String path = pathOf(m);
        int line = lines == null ? -1 : lines.line(path.equals("(top level)") ? "" : path);
        if (line <= 0 && m.getLocation() != null) {
            line = m.getLocation().getLineNr();
        }
        String reason = moved.containsKey(path) ? "moved (expected: " + moved.get(path) + ")" : reason(m);
        return source + (line > 0 ? ":" + line : "") + ": " + path + ": " + reason;
    }

    /** {@link #describe(String, YamlLines, JsonProcessingException, Map)} without moved keys. */
    public static String describe(String source, YamlLines lines, JsonProcessingException e) {
        return describe(source, lines, e, Map.of());
    }

    /** Where in a YAML document a binding error is, as {@code routes[1].upstream.url} ({@code (top level)} at the root). */
    public static String pathOf(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            } else if (ref.getFieldName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(ref.getFieldName());
            }
        }
        return sb.isEmpty() ? "(top level)" : sb.toString();
    }

    /**
     * {@code unknown key (expected: one of a, b, c)}, followed by {@code ; did you mean b?} when one known key is
     * within two edits (Levenshtein, case-insensitive) of {@code key}: the nearest, the first in order on a tie.
     */
    public static String unknownKey(String key, Collection<String> known) {
        TreeSet<String> sorted = new TreeSet<>(known);
        String nearest = null;
        int best = 3;
        for (String k : sorted) {
            int d = distance(key.toLowerCase(Locale.ROOT), k.toLowerCase(Locale.ROOT), best);
            if (d < best) {
                best = d;
                nearest = k;
            }
        }
        return "unknown key (expected: one of " + String.join(", ", sorted) + ")"
                + (nearest == null ? "" : "; did you mean " + nearest + "?");
    }

    /** Levenshtein distance of {@code a} and {@code b}, or {@code limit} when it is at least that. */
    private static int distance(String a, String b, int limit) {
        if (Math.abs(a.length() - b.length()) >= limit) {
            return limit;
        }
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return Math.min(prev[b.length()], limit);
    }

    /** A parse error of the YAML itself that surfaced while binding (Jackson wraps it), or null. */
    private static JsonProcessingException syntaxError(JsonMappingException e) {
        for (Throwable t = e.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
            if (t instanceof JsonProcessingException p && !(t instanceof JsonMappingException)) {
                return p;
            }
        }
        return null;
    }

    /** {@code file:line: not valid YAML: what the scanner said} (without its location and snippet lines). */
    private static String notYaml(String source, JsonProcessingException e) {
        // The scanner's own mark ("in 'reader', line 3, column 1") is where the problem is; Jackson's location is
        // where its last token started, often the line before.
        String original = String.valueOf(e.getOriginalMessage());
        Matcher mark = SCANNER_LINE.matcher(original);
        int line = mark.find() ? Integer.parseInt(mark.group(1))
                : e.getLocation() == null ? -1 : e.getLocation().getLineNr();
        StringBuilder what = new StringBuilder();
        for (String part : original.split("\n")) {
            if (part.startsWith(" in '") || part.isBlank()) {
                break;
            }
            what.append(what.isEmpty() ? "" : ": ").append(part.strip());
        }
        return source + (line > 0 ? ":" + line : "") + ": not valid YAML: " + what;
    }

    private static String reason(JsonMappingException e) {
        if (e instanceof UnrecognizedPropertyException u) {
            TreeSet<String> known = new TreeSet<>();
            u.getKnownPropertyIds().forEach(k -> known.add(String.valueOf(k)));
            return unknownKey(u.getPropertyName(), known);
        }
        // A record constructor's IllegalArgumentException carries the useful text; Jackson wraps it.
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        if (t instanceof IllegalArgumentException && t.getMessage() != null) {
            return t.getMessage();
        }
        String msg = e.getOriginalMessage();
        int nl = msg.indexOf('\n');
        return nl > 0 ? msg.substring(0, nl) : msg;
    }
}
