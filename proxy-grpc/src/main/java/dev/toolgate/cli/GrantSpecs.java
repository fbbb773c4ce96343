package dev.toolgate.cli;

import com.google.protobuf.Duration;
import dev.toolgate.api.v1.RequestedGrant;
import dev.toolgate.config.ConfigLoader;

/**
 * Parses the {@code --grant} option: comma-separated {@code key=value} pairs, {@code route} once, {@code op} once or
 * more, {@code budget} and {@code ttl} at most once, e.g.
 * {@code route=weather,op=GET /v1/forecast/*,op=GET /v1/alerts,budget=5,ttl=5m}. Stateless.
 */
final class GrantSpecs {
    static final String SYNTAX = "route=NAME,op=METHOD /path[,op=...][,budget=N][,ttl=DURATION]";

    private GrantSpecs() {}

    /** @throws IllegalArgumentException naming the part that is wrong */
    static RequestedGrant parse(String spec) {
        RequestedGrant.Builder b = RequestedGrant.newBuilder();
        for (String part : spec.split(",", -1)) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw bad(spec, "\"" + part + "\" is not key=value");
            }
            String key = part.substring(0, eq).trim();
            String value = part.substring(eq + 1).trim();
            switch (key) {
                case "route" -> {
                    if (!b.getRoute().isEmpty()) {
                        throw bad(spec, "route given twice");
                    }
                    b.setRoute(value);
                }
                case "op", "operation" -> b.addOperations(value);
                case "budget" -> {
                    if (b.hasBudget()) {
                        throw bad(spec, "budget given twice");
                    }
                    try {
                        b.setBudget(Long.parseLong(value));
                    } catch (NumberFormatException e) {
                        throw bad(spec, "budget \"" + value + "\" is not a number");
                    }
                }
                case "ttl" -> {
                    if (b.hasTtl()) {
                        throw bad(spec, "ttl given twice");
                    }
                    b.setTtl(duration(value));
                }
                default -> throw bad(spec, "unknown key \"" + key + "\"");
            }
        }
        if (b.getRoute().isEmpty()) {
            throw bad(spec, "route missing");
        }
        if (b.getOperationsCount() == 0) {
            throw bad(spec, "no op");
        }
        return b.build();
    }

    static Duration duration(String text) {
        java.time.Duration d = ConfigLoader.parseDuration(text);
        return Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
    }

    private static IllegalArgumentException bad(String spec, String why) {
        return new IllegalArgumentException("--grant \"" + spec + "\": " + why + " (expected: " + SYNTAX + ")");
    }
}
