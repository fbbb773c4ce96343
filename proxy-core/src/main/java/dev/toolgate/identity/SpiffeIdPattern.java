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
    /** The path segments, split once at parse time; {@link #STAR} and {@link #DOUBLE_STAR} are matched by kind. */
    private final String[] segments;
    private final boolean[] star;
    private final boolean tail;

    private static final String STAR = "*";
    private static final String DOUBLE_STAR = "**";

    private SpiffeIdPattern(String pattern, String trustDomain, List<String> segments) {
        this.pattern = pattern;
        this.trustDomain = trustDomain;
        this.segments = segments.toArray(new String[0]);
        this.star = new boolean[this.segments.length];
        for (int i = 0; i < this.segments.length; i++) {
            star[i] = this.segments[i].equals(STAR);
        }
        this.tail = this.segments[this.segments.length - 1].equals(DOUBLE_STAR);
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
            if (s.isEmpty() || s.equals(DOUBLE_STAR) && i != segs.size() - 1) {
                throw new IllegalArgumentException("\"" + pattern
                        + "\" (expected: non-empty segments, ** only as the last one)");
            }
            if (!s.equals(STAR) && !s.equals(DOUBLE_STAR)) {
                SpiffeId.of(td, "/" + s); // validates the trust domain and the segment's characters
            }
        }
        return new SpiffeIdPattern(pattern, td, segs);
    }

    /**
     * Whether {@code id} matches. Walks the ID's path in place (no splitting, no allocation): it runs for every
     * policy document on a decision that is not cached. An ID without a path (a trust domain's own ID) matches no
     * pattern, as every pattern has at least one segment.
     */
    public boolean matches(SpiffeId id) {
        if (!id.trustDomain().equals(trustDomain)) {
            return false;
        }
        String path = id.path();
        int n = path.length();
        // A valid SpiffeId path is empty or "/seg(/seg)*" with non-empty segments and no trailing slash.
        int pos = 1;
        int last = segments.length - 1;
        for (int i = 0; i <= last; i++) {
            if (pos > n) {
                return false; // the ID has fewer segments than the pattern
            }
            if (i == last && tail) {
                return true; // ** matches the one or more segments left
            }
            int end = path.indexOf('/', pos);
            if (end < 0) {
                end = n;
            }
            if (!star[i]) {
                String s = segments[i];
                if (end - pos != s.length() || !path.regionMatches(pos, s, 0, s.length())) {
                    return false;
                }
            }
            pos = end + 1;
        }
        return pos > n; // and no segment left over
    }

    @Override
    public String toString() {
        return pattern;
    }
}
