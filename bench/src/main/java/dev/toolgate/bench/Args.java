package dev.toolgate.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code --name value} and {@code --flag} command-line options; rejects unknown names, and names given twice unless
 * they are repeatable.
 */
final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final Map<String, List<String>> repeated = new HashMap<>();
    final List<String> positional = new ArrayList<>();

    Args(String[] argv, int from, Set<String> options, Set<String> flags) {
        this(argv, from, options, Set.of(), flags);
    }

    /** {@code repeatable}: options that may be given any number of times (read with {@link #all}). */
    Args(String[] argv, int from, Set<String> options, Set<String> repeatable, Set<String> flags) {
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("--")) {
                positional.add(a);
                continue;
            }
            String name = a.substring(2);
            String value;
            if (repeatable.contains(name)) {
                if (i + 1 >= argv.length) {
                    throw new IllegalArgumentException(a + ": missing value");
                }
                repeated.computeIfAbsent(name, n -> new ArrayList<>()).add(argv[++i]);
                continue;
            }
            if (flags.contains(name)) {
                value = "true";
            } else if (options.contains(name)) {
                if (i + 1 >= argv.length) {
                    throw new IllegalArgumentException(a + ": missing value");
                }
                value = argv[++i];
            } else {
                throw new IllegalArgumentException(a + ": unknown option (expected one of " + options + " "
                        + repeatable + " " + flags + ")");
            }
            if (values.put(name, value) != null) {
                throw new IllegalArgumentException(a + ": given twice");
            }
        }
    }

    String get(String name, String dflt) {
        return values.getOrDefault(name, dflt);
    }

    String required(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + ": missing (required)");
        }
        return v;
    }

    /** Every value of a repeatable option, in the order given (empty when it was not given). */
    List<String> all(String name) {
        return List.copyOf(repeated.getOrDefault(name, List.of()));
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    int intValue(String name, int dflt) {
        String v = values.get(name);
        try {
            return v == null ? dflt : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + ": \"" + v + "\" (expected: an integer)");
        }
    }

    /** {@code 500ms}, {@code 5s}, {@code 1m}. */
    Duration duration(String name, Duration dflt) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            if (v.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            }
            if (v.endsWith("s")) {
                return Duration.ofMillis((long) (Double.parseDouble(v.substring(0, v.length() - 1)) * 1000));
            }
            if (v.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
            }
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw new IllegalArgumentException("--" + name + ": \"" + v + "\" (expected: e.g. 500ms, 5s, 1m)");
    }
}
