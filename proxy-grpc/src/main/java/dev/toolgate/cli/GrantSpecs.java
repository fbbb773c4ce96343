package dev.toolgate.cli;

import com.google.protobuf.Duration;
import dev.toolgate.api.v1.RequestedGrant;
import dev.toolgate.config.ConfigLoader;

/**
 * Parses the {@code --grant} option: comma-separated {@code key=value} pairs, {@code route} once, {@code op} once or
 * more, {@code budget} and {@code ttl} at most once, and last, if at all, {@code when}: a CEL condition named as in
 * policy rules, which takes the rest of the option (commas included, as CEL has them), e.g.
 * {@code route=weather,op=GET /v1/forecast/*,budget=5,ttl=5m,when=request.host == "api.weather.example"}.
 * Stateless.
 */
final class GrantSpecs {
    static final String SYNTAX = "route=NAME,op=METHOD /path[,op=...][,budget=N][,ttl=DURATION][,when=CEL]";
    private static final String WHEN = "when=";

    private GrantSpecs() {}

    /** @throws IllegalArgumentException naming the part that is wrong */
    static RequestedGrant parse(String spec) {
        RequestedGrant.Builder b = RequestedGrant.newBuilder();
        String pairs = spec;
        // when= is last and takes the rest: CEL has commas of its own.
        int comma = spec.startsWith(WHEN) ? -1 : spec.indexOf("," + WHEN);
        if (spec.startsWith(WHEN) || comma >= 0) {
            String condition = spec.substring(comma + 1 + WHEN.length()).trim();
            if (condition.isEmpty()) {
                throw bad(spec, "when is empty");
            }
            b.setWhen(condition);
            pairs = comma < 0 ? "" : spec.substring(0, comma);
        }
        for (String part : pairs.isEmpty() ? new String[0] : pairs.split(",", -1)) {
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
                case "condition" -> throw bad(spec, "condition is now when, and comes last");
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
