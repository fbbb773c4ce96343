package dev.toolgate.operation;

import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * The HTTP kind of an {@link OperationPattern}: {@code METHOD /path/pattern}, matched against the method and the
 * normalized path relative to the route (what follows the route prefix; the whole path on a gRPC route).
 *
 * <p>The method is an exact token ({@code GET}) or {@code *} (any method). Path segments match exactly, except
 * {@code *} (exactly one non-empty segment) and a final {@code **} (zero or more segments). {@code **} anywhere but
 * last is refused, and so are segments that a normalized path can never contain ({@code .}, {@code ..}, empty
 * segments, percent signs other than in the normalizer's own escapes): a pattern never matches more than it
 * says. Immutable and thread-safe; matching does not allocate. Only {@link OperationPattern} uses it, which
 * owns the pattern's text, equality and hash.
 */
final class HttpPattern {
    private static final Pattern METHOD = Pattern.compile("\\*|[A-Z][A-Z0-9_-]{0,31}");
    private static final Pattern SEGMENT = Pattern.compile("\\*\\*?|[A-Za-z0-9._~!$&'()+,;=:@%-]+");
    private static final String ANY = "*";
    private static final String REST = "**";

    private final String method;
    private final String[] segments;
    private final boolean rest;

    private HttpPattern(String method, String[] segments, boolean rest) {
        this.method = method;
        this.segments = segments;
        this.rest = rest;
    }

    /**
     * Parses {@code METHOD /path} ({@code text} not null).
     *
     * @throws IllegalArgumentException with a reason a person can act on
     */
    static HttpPattern parse(String text) {
        int space = text.indexOf(' ');
        if (space < 0 || text.indexOf(' ', space + 1) >= 0) {
            throw new IllegalArgumentException(OperationPattern.bad(text, "expected: METHOD /path, e.g. GET /forecast/**"));
        }
        String method = text.substring(0, space);
        String path = text.substring(space + 1);
        if (!METHOD.matcher(method).matches()) {
            throw new IllegalArgumentException(OperationPattern.bad(text, "expected: an upper-case HTTP method or *"));
        }
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException(OperationPattern.bad(text, "expected: a path starting with /"));
        }
        String[] segs = path.equals("/") ? new String[0] : path.substring(1).split("/", -1);
        boolean rest = false;
        for (int i = 0; i < segs.length; i++) {
            String s = segs[i];
            if (!SEGMENT.matcher(s).matches() || s.equals(".") || s.equals("..")) {
                throw new IllegalArgumentException(OperationPattern.bad(text, "segment \"" + s + "\" is not a normalized path segment,"
                        + " * or **"));
            }
            if (s.equals(REST)) {
                if (i != segs.length - 1) {
                    throw new IllegalArgumentException(OperationPattern.bad(text, "** is allowed only as the last segment"));
                }
                rest = true;
            }
        }
        String[] fixed = rest ? Arrays.copyOf(segs, segs.length - 1) : segs;
        return new HttpPattern(method, fixed, rest);
    }

    /**
     * Whether an operation string {@code METHOD /path} falls under this pattern, {@code space} being the index of
     * the space between method and path; nothing is allocated (the decision's hot path).
     */
    boolean matches(String operation, int space) {
        if (!method.equals(ANY) && (space != method.length() || !operation.regionMatches(0, method, 0, space))) {
            return false;
        }
        return pathMatches(operation, space + 1);
    }

    /** Matches the path that starts at {@code from} in {@code s} and runs to its end. */
    private boolean pathMatches(String s, int from) {
        int len = s.length();
        if (from >= len || s.charAt(from) != '/') {
            return false;
        }
        int pos = from + 1; // after the leading '/'
        for (String seg : segments) {
            if (pos > len) {
                return false;
            }
            int end = s.indexOf('/', pos);
            if (end < 0) {
                end = len;
            }
            if (end == pos) {
                return false; // empty segment: the path ended (or a trailing slash) where a segment was required
            }
            if (!seg.equals(ANY) && (end - pos != seg.length() || !s.regionMatches(pos, seg, 0, seg.length()))) {
                return false;
            }
            pos = end + 1;
        }
        if (rest) {
            return true;
        }
        // Exactly consumed: the path ended right after the last segment (a trailing slash is a different path).
        return pos == len + 1 || segments.length == 0 && len == from + 1;
    }

    /**
     * Whether everything this pattern matches is also matched by {@code wider} (used to keep a delegated grant
     * within its parent's).
     */
    boolean within(HttpPattern wider) {
        if (!wider.method.equals(ANY) && !wider.method.equals(method)) {
            return false;
        }
        int n = segments.length;
        int w = wider.segments.length;
        if (w > n || !wider.rest && (w != n || rest)) {
            return false;
        }
        for (int i = 0; i < w; i++) {
            String mine = segments[i];
            String theirs = wider.segments[i];
            if (!theirs.equals(ANY) && !theirs.equals(mine)) {
                return false;
            }
        }
        return true;
    }
}
