package dev.toolgate.grant;

import dev.toolgate.call.Call;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An operation pattern of a grant, of one of three kinds:
 * <ul>
 *   <li>HTTP: {@code METHOD /path/pattern}, matched against the method and the normalized path relative to the
 *       route (what follows the route prefix; the whole path on a gRPC route). Never matches on an MCP route.
 *   <li>gRPC: {@code grpc:package.Service/Method}, or {@code grpc:package.Service/*} for every method.
 *   <li>MCP: {@code mcp:tools/call:<tool>}, {@code mcp:prompts/get:<name>} (name or {@code *}),
 *       {@code mcp:resources/read:<uri glob>} ({@code *} within a path segment, {@code **} across), and
 *       {@code mcp:<method>} for the rest ({@code mcp:tools/list}, {@code mcp:notifications/*}).
 * </ul>
 *
 * <p>HTTP details:
 * <p>The method is an exact token ({@code GET}) or {@code *} (any method). Path segments match exactly, except
 * {@code *} (exactly one non-empty segment) and a final {@code **} (zero or more segments). {@code **} anywhere but
 * last is refused, and so are segments that a normalized path can never contain ({@code .}, {@code ..}, empty
 * segments, percent signs other than in the normalizer's own escapes): a pattern never matches more than it
 * says. Immutable and thread-safe; matching does not allocate.
 */
public final class OperationPattern {
    private static final Pattern METHOD = Pattern.compile("\\*|[A-Z][A-Z0-9_-]{0,31}");
    private static final Pattern SEGMENT = Pattern.compile("\\*\\*?|[A-Za-z0-9._~!$&'()+,;=:@%-]+");
    private static final String ANY = "*";
    private static final String REST = "**";

    private static final Pattern GRPC = Pattern.compile(
            "grpc:([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)+)/([A-Za-z_][A-Za-z0-9_]*|\\*)");
    private static final Pattern MCP_NAME = Pattern.compile("mcp:(tools/call|prompts/get):([A-Za-z0-9_.-]{1,128}|\\*)");
    private static final Pattern MCP_URI = Pattern.compile("mcp:resources/read:([\\x21-\\x7e]{1,2048})");
    private static final Pattern MCP_METHOD = Pattern.compile("mcp:([a-z][A-Za-z_]*(?:/[a-z][A-Za-z_]*)*)(/\\*)?");

    private static final String RESOURCES_READ = "mcp:resources/read:";

    /** What an operation is about. */
    private enum Kind { HTTP, GRPC, MCP }

    private final String text;
    private final Kind kind;
    private final String method;
    private final String[] segments;
    private final boolean rest;
    /** gRPC and MCP: the operation must equal this, or (when {@link #wildcard}) start with it. */
    private final String fixed;
    private final boolean wildcard;
    /** MCP resources: the URI glob, compiled. */
    private final Pattern uri;

    private OperationPattern(String text, String method, String[] segments, boolean rest) {
        this.text = text;
        this.kind = Kind.HTTP;
        this.method = method;
        this.segments = segments;
        this.rest = rest;
        this.fixed = null;
        this.wildcard = false;
        this.uri = null;
    }

    private OperationPattern(String text, Kind kind, String fixed, boolean wildcard, Pattern uri) {
        this.text = text;
        this.kind = kind;
        this.method = null;
        this.segments = null;
        this.rest = false;
        this.fixed = fixed;
        this.wildcard = wildcard;
        this.uri = uri;
    }

    /**
     * Parses {@code METHOD /path}.
     *
     * @throws IllegalArgumentException with a reason a person can act on
     */
    public static OperationPattern parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("operation: null (expected: METHOD /path, e.g. GET /forecast/**)");
        }
        if (text.startsWith("grpc:")) {
            Matcher m = GRPC.matcher(text);
            if (!m.matches()) {
                throw new IllegalArgumentException(bad(text, "expected: grpc:package.Service/Method or"
                        + " grpc:package.Service/*"));
            }
            boolean any = m.group(2).equals(ANY);
            return new OperationPattern(text, Kind.GRPC, any ? text.substring(0, text.length() - 1) : text, any, null);
        }
        if (text.startsWith("mcp:")) {
            return parseMcp(text);
        }
        int space = text.indexOf(' ');
        if (space < 0 || text.indexOf(' ', space + 1) >= 0) {
            throw new IllegalArgumentException(bad(text, "expected: METHOD /path, e.g. GET /forecast/**"));
        }
        String method = text.substring(0, space);
        String path = text.substring(space + 1);
        if (!METHOD.matcher(method).matches()) {
            throw new IllegalArgumentException(bad(text, "expected: an upper-case HTTP method or *"));
        }
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException(bad(text, "expected: a path starting with /"));
        }
        String[] segs = path.equals("/") ? new String[0] : path.substring(1).split("/", -1);
        boolean rest = false;
        for (int i = 0; i < segs.length; i++) {
            String s = segs[i];
            if (!SEGMENT.matcher(s).matches() || s.equals(".") || s.equals("..")) {
                throw new IllegalArgumentException(bad(text, "segment \"" + s + "\" is not a normalized path segment,"
                        + " * or **"));
            }
            if (s.equals(REST)) {
                if (i != segs.length - 1) {
                    throw new IllegalArgumentException(bad(text, "** is allowed only as the last segment"));
                }
                rest = true;
            }
        }
        String[] fixed = rest ? Arrays.copyOf(segs, segs.length - 1) : segs;
        return new OperationPattern(text, method, fixed, rest);
    }

    private static OperationPattern parseMcp(String text) {
        Matcher m = MCP_NAME.matcher(text);
        if (m.matches()) {
            boolean any = m.group(2).equals(ANY);
            return new OperationPattern(text, Kind.MCP, any ? text.substring(0, text.length() - 1) : text, any, null);
        }
        m = MCP_URI.matcher(text);
        if (m.matches()) {
            return new OperationPattern(text, Kind.MCP, null, false, glob(m.group(1)));
        }
        m = MCP_METHOD.matcher(text);
        if (m.matches() && !m.group(1).equals("tools/call") && !m.group(1).equals("prompts/get")
                && !m.group(1).equals("resources/read")) {
            boolean any = m.group(2) != null;
            return new OperationPattern(text, Kind.MCP, any ? text.substring(0, text.length() - 1) : text, any, null);
        }
        throw new IllegalArgumentException(bad(text, "expected: mcp:tools/call:<tool or *>, mcp:prompts/get:<name"
                + " or *>, mcp:resources/read:<uri glob> or mcp:<method> (tool names: letters, digits, _ . -)"));
    }

    /** A URI glob as a regex: {@code **} any characters, {@code *} any but '/', the rest literal. */
    private static Pattern glob(String g) {
        StringBuilder re = new StringBuilder();
        int i = 0;
        while (i < g.length()) {
            if (g.startsWith("**", i)) {
                re.append(".*");
                i += 2;
            } else if (g.charAt(i) == '*') {
                re.append("[^/]*");
                i++;
            } else {
                int next = g.indexOf('*', i);
                int end = next < 0 ? g.length() : next;
                re.append(Pattern.quote(g.substring(i, end)));
                i = end;
            }
        }
        return Pattern.compile(re.toString());
    }

    /**
     * Whether {@code call} falls under this pattern: an HTTP pattern on a non-MCP route by method and path, a gRPC
     * pattern on a gRPC route by service and method, an MCP pattern by what the JSON-RPC message does.
     */
    public boolean matches(Call call) {
        switch (kind) {
            case HTTP:
                return !call.protocol().equals("mcp") && matches(call.method(), call.path());
            case GRPC:
                return call.protocol().equals("grpc") && matchesFixed(call.operation());
            default:
                if (!call.protocol().equals("mcp")) {
                    return false;
                }
                String op = call.operation();
                if (uri != null) {
                    return call.mcp() != null && call.mcp().uri() != null && op.startsWith(RESOURCES_READ)
                            && uri.matcher(call.mcp().uri()).matches();
                }
                return matchesFixed(op);
        }
    }

    private boolean matchesFixed(String op) {
        if (!wildcard) {
            return op.equals(fixed);
        }
        if (!op.startsWith(fixed) || op.length() == fixed.length()) {
            return false;
        }
        // "grpc:pkg.Svc/*" is one method; "mcp:notifications/*" one more segment; "mcp:tools/call:*" any tool.
        return fixed.endsWith(":") || op.indexOf('/', fixed.length()) < 0;
    }

    private static String bad(String text, String why) {
        return "operation \"" + text + "\": " + why;
    }

    /** Whether {@code method} and the normalized route-relative {@code path} fall under this pattern. */
    public boolean matches(String method, String path) {
        if (kind != Kind.HTTP) {
            return false;
        }
        if (!this.method.equals(ANY) && !this.method.equals(method)) {
            return false;
        }
        int pos = 1; // after the leading '/'
        int len = path.length();
        if (len == 0 || path.charAt(0) != '/') {
            return false;
        }
        for (String seg : segments) {
            if (pos > len) {
                return false;
            }
            int end = path.indexOf('/', pos);
            if (end < 0) {
                end = len;
            }
            if (end == pos) {
                return false; // empty segment: the path ended (or a trailing slash) where a segment was required
            }
            if (!seg.equals(ANY) && (end - pos != seg.length() || !path.regionMatches(pos, seg, 0, seg.length()))) {
                return false;
            }
            pos = end + 1;
        }
        if (rest) {
            return true;
        }
        // Exactly consumed: the path ended right after the last segment (a trailing slash is a different path).
        return pos == len + 1 || segments.length == 0 && len == 1;
    }

    /**
     * Whether everything this pattern matches is also matched by {@code wider} (used to keep a delegated grant
     * within its parent's).
     */
    public boolean within(OperationPattern wider) {
        if (kind != wider.kind) {
            return false;
        }
        if (kind != Kind.HTTP) {
            if (text.equals(wider.text)) {
                return true;
            }
            if (uri != null || wider.uri != null) {
                // A literal URI lies within a glob that matches it; a glob within another glob is not proven.
                return uri != null && wider.uri != null && !text.contains("*")
                        && wider.uri.matcher(text.substring(RESOURCES_READ.length())).matches();
            }
            return wider.wildcard && !wildcard && wider.matchesFixed(fixed);
        }
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

    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OperationPattern p && p.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }
}
