package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A pattern over SPIFFE IDs: {@code spiffe://<trust domain>/<segments>} where a segment {@code *} matches exactly
 * one path segment and a final {@code **} matches one or more. The trust domain is matched exactly.
 * Examples: {@code spiffe://prod.example/agents/*}, {@code spiffe://prod.example/ns/research/**}.
 * Immutable and thread-safe.
 */
public final class SpiffeIdPattern {
    private final String pattern;
    private final String trustDomain;
    private final List<String> segments;

    private SpiffeIdPattern(String pattern, String trustDomain, List<String> segments) {
        this.pattern = pattern;
        this.trustDomain = trustDomain;
        this.segments = segments;
    }

    /**
     * @throws IllegalArgumentException if the pattern is not {@code spiffe://domain/segment...} or {@code **} is
     *     not the last segment
     */
    public static SpiffeIdPattern parse(String pattern) {
        requireNonNull(pattern, "pattern");
        if (!pattern.startsWith("spiffe://")) {
            throw new IllegalArgumentException("\"" + pattern + "\" (expected: spiffe://trust-domain/path pattern)");
        }
        String rest = pattern.substring("spiffe://".length());
        int slash = rest.indexOf('/');
        if (slash <= 0 || slash == rest.length() - 1) {
            throw new IllegalArgumentException("\"" + pattern + "\" (expected: a trust domain and a path)");
        }
        String td = rest.substring(0, slash);
        List<String> segs = List.of(rest.substring(slash + 1).split("/", -1));
        for (int i = 0; i < segs.size(); i++) {
            String s = segs.get(i);
            if (s.isEmpty() || s.equals("**") && i != segs.size() - 1) {
                throw new IllegalArgumentException("\"" + pattern
                        + "\" (expected: non-empty segments, ** only as the last one)");
            }
            if (!s.equals("*") && !s.equals("**")) {
                SpiffeId.of(td, "/" + s); // validates the trust domain and the segment's characters
            }
        }
        return new SpiffeIdPattern(pattern, td, segs);
    }

    public boolean matches(SpiffeId id) {
        if (!id.trustDomain().equals(trustDomain)) {
            return false;
        }
        String[] path = id.path().substring(1).split("/");
        for (int i = 0; i < segments.size(); i++) {
            String s = segments.get(i);
            if (s.equals("**")) {
                return path.length > i;
            }
            if (i >= path.length || !s.equals("*") && !s.equals(path[i])) {
                return false;
            }
        }
        return path.length == segments.size();
    }

    @Override
    public String toString() {
        return pattern;
    }
}
