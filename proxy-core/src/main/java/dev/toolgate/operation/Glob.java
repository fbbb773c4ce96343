package dev.toolgate.operation;

/**
 * A glob over MCP resource URIs: {@code *} matches any run of characters without {@code /}, {@code **} any run at
 * all; every other character matches itself. A pattern with a wildcard never matches a URI that could mean
 * another place than it seems to: one with a {@code .} or {@code ..} segment, a backslash, a percent-encoded
 * {@code .}, {@code /} or {@code \}, or more than {@link #MAX_SUBJECT} characters. Matching is a linear-space
 * dynamic programme (no backtracking, so no pattern is slow on any input). Immutable and thread-safe.
 */
final class Glob {
    /** Longest URI a wildcard pattern is matched against; longer ones never match. */
    static final int MAX_SUBJECT = 8192;
    private static final int STAR = -1;
    private static final int DOUBLE_STAR = -2;

    private final String text;
    private final int[] tokens;
    private final boolean literal;

    private Glob(String text, int[] tokens, boolean literal) {
        this.text = text;
        this.tokens = tokens;
        this.literal = literal;
    }

    /** @throws IllegalArgumentException for three or more {@code *} in a row */
    static Glob parse(String text) {
        int[] t = new int[text.length()];
        int n = 0;
        boolean literal = true;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '*') {
                t[n++] = c;
                continue;
            }
            literal = false;
            if (i + 1 < text.length() && text.charAt(i + 1) == '*') {
                if (i + 2 < text.length() && text.charAt(i + 2) == '*') {
                    throw new IllegalArgumentException("*** in \"" + text + "\" (expected: * or **)");
                }
                t[n++] = DOUBLE_STAR;
                i++;
            } else {
                t[n++] = STAR;
            }
        }
        return new Glob(text, java.util.Arrays.copyOf(t, n), literal);
    }

    boolean matches(String s) {
        if (literal) {
            return text.equals(s);
        }
        if (s.length() > MAX_SUBJECT || ambiguous(s)) {
            return false;
        }
        int m = tokens.length;
        boolean[] cur = new boolean[m + 1];
        boolean[] next = new boolean[m + 1];
        cur[0] = true;
        close(cur);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            java.util.Arrays.fill(next, false);
            boolean any = false;
            for (int j = 0; j < m; j++) {
                if (!cur[j]) {
                    continue;
                }
                int t = tokens[j];
                if (t == DOUBLE_STAR || t == STAR && c != '/') {
                    next[j] = true;
                    any = true;
                } else if (t == c) {
                    next[j + 1] = true;
                    any = true;
                }
            }
            if (!any) {
                return false;
            }
            close(next);
            boolean[] swap = cur;
            cur = next;
            next = swap;
        }
        return cur[m];
    }

    /**
     * Whether every URI {@code narrower} matches is also matched by this glob. Sound, not complete: true only when
     * it is certain (this glob's {@code *} covers the other's literal runs without {@code /} and its {@code *};
     * only {@code **} covers {@code **}).
     */
    boolean covers(Glob narrower) {
        if (narrower.literal) {
            return matches(narrower.text);
        }
        int m = tokens.length;
        boolean[] cur = new boolean[m + 1];
        boolean[] next = new boolean[m + 1];
        cur[0] = true;
        close(cur);
        for (int sym : narrower.tokens) {
            java.util.Arrays.fill(next, false);
            for (int j = 0; j < m; j++) {
                if (!cur[j]) {
                    continue;
                }
                int t = tokens[j];
                if (t == DOUBLE_STAR || t == STAR && sym != DOUBLE_STAR && sym != '/') {
                    next[j] = true;
                } else if (t == sym && sym >= 0) {
                    next[j + 1] = true;
                }
            }
            close(next);
            boolean[] swap = cur;
            cur = next;
            next = swap;
        }
        return cur[m];
    }

    /** A wildcard may match the empty string: reaching it means reaching what follows it. */
    private void close(boolean[] states) {
        for (int j = 0; j < tokens.length; j++) {
            if (states[j] && tokens[j] < 0) {
                states[j + 1] = true;
            }
        }
    }

    /** A URI a server might resolve to somewhere else than its text suggests (traversal, encoded separators). */
    static boolean ambiguous(String s) {
        int len = s.length();
        int segStart = 0;
        for (int i = 0; i <= len; i++) {
            char c = i < len ? s.charAt(i) : '/';
            if (c == '\\') {
                return true;
            }
            if (c == '%' && i + 2 < len && s.charAt(i + 1) == '2' && isOneOf(s.charAt(i + 2), "eEfF")
                    || c == '%' && i + 2 < len && s.charAt(i + 1) == '5' && isOneOf(s.charAt(i + 2), "cC")) {
                return true;
            }
            if (c == '/') {
                int segLen = i - segStart;
                if (segLen == 1 && s.charAt(segStart) == '.'
                        || segLen == 2 && s.charAt(segStart) == '.' && s.charAt(segStart + 1) == '.') {
                    return true;
                }
                segStart = i + 1;
            }
        }
        return false;
    }

    private static boolean isOneOf(char c, String set) {
        return set.indexOf(c) >= 0;
    }

    @Override
    public String toString() {
        return text;
    }
}
