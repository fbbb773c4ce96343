package dev.toolgate.operation;

import static java.util.Objects.requireNonNull;

import dev.toolgate.common.Protocol;
import java.util.regex.Pattern;

/**
 * An operation pattern of any protocol, as written in policy rules and grants, matched against the operation
 * string of a call ({@code Call#operation()} in {@code dev.toolgate.call}).
 *
 * <table>
 * <caption>Syntax</caption>
 * <tr><th>pattern</th><th>matches the call operation</th></tr>
 * <tr><td>{@code GET /repos/**}</td><td>HTTP: {@code METHOD /normalized/path}; the method exact or {@code *}, path
 *     segments exact, {@code *} one segment, a final {@code **} any number; a segment a
 *     normalized path cannot hold ({@code .}, {@code ..}, empty, a query) is refused</td></tr>
 * <tr><td>{@code grpc:demo.Tools/Search}, {@code grpc:demo.Tools/*}</td><td>gRPC: {@code grpc:package.Service/Method};
 *     the service exact, the method exact or {@code *} (any one method of that service)</td></tr>
 * <tr><td>{@code mcp:tools/call:search_issues}, {@code mcp:tools/call:*}</td><td>MCP tool call:
 *     {@code mcp:tools/call:<tool>}; everything after the second colon is the tool name, so a tool named
 *     {@code a:b} is {@code mcp:tools/call:a:b}; the name exact or {@code *} (any non-empty name)</td></tr>
 * <tr><td>{@code mcp:resources/read:file:///repo/**}</td><td>MCP resource read: {@code mcp:resources/read:<uri>};
 *     the URI glob: {@code *} any run without {@code /}, {@code **} any run. A glob with a wildcard never
 *     matches a URI with a {@code .}/{@code ..} segment, a backslash or a percent-encoded {@code .}, {@code /}
 *     or {@code \}</td></tr>
 * <tr><td>{@code mcp:prompts/get:summarize}, {@code mcp:prompts/get:*}</td><td>MCP prompt:
 *     {@code mcp:prompts/get:<name>}, the name exact or {@code *}</td></tr>
 * <tr><td>{@code mcp:tools/list}, {@code mcp:notifications/*}</td><td>any other MCP method: {@code mcp:<method>},
 *     exact, or a final {@code /*} for any one further segment. {@code tools/call}, {@code resources/read} and
 *     {@code prompts/get} need their own forms above</td></tr>
 * </table>
 *
 * <p>A pattern of one protocol never matches an operation of another ({@code POST /**} does not match
 * {@code mcp:tools/call:x}). {@link #within} is the subset relation used to keep a grant within a policy rule and a
 * delegated grant within its parent's: it answers true only when it is certain.
 *
 * <p>Immutable and thread-safe. Matching allocates nothing except for wildcard resource globs. {@link #parse}
 * throws {@link IllegalArgumentException} naming the pattern and what was expected; matching never throws.
 */
public final class OperationPattern {
    /** Longest pattern text accepted. */
    public static final int MAX_LENGTH = 1024;

    static final String GRPC = "grpc:";
    static final String MCP = "mcp:";
    static final String TOOLS_CALL = "mcp:tools/call:";
    static final String RESOURCES_READ = "mcp:resources/read:";
    static final String PROMPTS_GET = "mcp:prompts/get:";

    private static final String ANY = "*";
    private static final Pattern SERVICE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");
    private static final Pattern GRPC_METHOD = Pattern.compile("\\*|[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern MCP_METHOD = Pattern.compile("[A-Za-z0-9_.$-]+(/[A-Za-z0-9_.$-]+)*(/\\*)?");

    private enum Kind { HTTP, GRPC, TOOL, RESOURCE, PROMPT, METHOD }

    private final String text;
    private final Kind kind;
    private final HttpPattern http;
    private final String service;
    private final String name;
    private final Glob glob;

    private OperationPattern(String text, Kind kind, HttpPattern http, String service, String name, Glob glob) {
        this.text = text;
        this.kind = kind;
        this.http = http;
        this.service = service;
        this.name = name;
        this.glob = glob;
    }

    /**
     * Parses a pattern of the syntax above.
     *
     * @throws NullPointerException if {@code text} is null
     * @throws IllegalArgumentException naming the pattern and what was expected
     */
    public static OperationPattern parse(String text) {
        requireNonNull(text, "text");
        if (text.length() > MAX_LENGTH) {
            throw new IllegalArgumentException(bad(text.substring(0, 64) + "...", "is " + text.length()
                    + " characters (expected: <= " + MAX_LENGTH + ")"));
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException(bad(text, "contains a control character"));
            }
        }
        if (text.startsWith(GRPC)) {
            return parseGrpc(text);
        }
        if (text.startsWith(MCP)) {
            return parseMcp(text);
        }
        return new OperationPattern(text, Kind.HTTP, HttpPattern.parse(text), null, null, null);
    }

    private static OperationPattern parseGrpc(String text) {
        String rest = text.substring(GRPC.length());
        int slash = rest.indexOf('/');
        if (slash < 0 || rest.indexOf('/', slash + 1) >= 0) {
            throw new IllegalArgumentException(bad(text, "expected: grpc:package.Service/Method or"
                    + " grpc:package.Service/*"));
        }
        String service = rest.substring(0, slash);
        String method = rest.substring(slash + 1);
        if (!SERVICE.matcher(service).matches()) {
            throw new IllegalArgumentException(bad(text, "service \"" + service
                    + "\" (expected: a fully qualified service such as demo.Tools)"));
        }
        if (!GRPC_METHOD.matcher(method).matches()) {
            throw new IllegalArgumentException(bad(text, "method \"" + method + "\" (expected: a method name or *)"));
        }
        return new OperationPattern(text, Kind.GRPC, null, service, method, null);
    }

    private static OperationPattern parseMcp(String text) {
        if (text.startsWith(TOOLS_CALL)) {
            return new OperationPattern(text, Kind.TOOL, null, null, name(text, TOOLS_CALL, "tool"), null);
        }
        if (text.startsWith(PROMPTS_GET)) {
            return new OperationPattern(text, Kind.PROMPT, null, null, name(text, PROMPTS_GET, "prompt"), null);
        }
        if (text.startsWith(RESOURCES_READ)) {
            String uri = text.substring(RESOURCES_READ.length());
            if (uri.isEmpty() || uri.indexOf(' ') >= 0) {
                throw new IllegalArgumentException(bad(text, "expected: mcp:resources/read:<uri pattern> with a"
                        + " non-empty URI without spaces, * and ** as wildcards"));
            }
            try {
                return new OperationPattern(text, Kind.RESOURCE, null, null, uri, Glob.parse(uri));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(bad(text, e.getMessage()), e);
            }
        }
        String method = text.substring(MCP.length());
        if (method.equals("tools/call") || method.equals("resources/read") || method.equals("prompts/get")) {
            throw new IllegalArgumentException(bad(text, "expected: mcp:" + method + ":<"
                    + (method.startsWith("resources") ? "uri pattern" : "name") + "> or mcp:" + method + ":*"));
        }
        if (!MCP_METHOD.matcher(method).matches()) {
            throw new IllegalArgumentException(bad(text, "expected: mcp:<method> such as mcp:tools/list or"
                    + " mcp:notifications/*"));
        }
        return new OperationPattern(text, Kind.METHOD, null, null, method, null);
    }

    private static String name(String text, String prefix, String what) {
        String n = text.substring(prefix.length());
        if (n.isEmpty() || n.indexOf(' ') >= 0) {
            throw new IllegalArgumentException(bad(text, "expected: " + prefix + "<" + what + "> (a name without"
                    + " spaces) or " + prefix + "*"));
        }
        return n;
    }

    static String bad(String text, String why) {
        return "operation \"" + text + "\": " + why;
    }

    /**
     * Whether the call operation (the forms in the table above, e.g. {@code GET /repos/acme/x},
     * {@code grpc:demo.Tools/Search}, {@code mcp:tools/call:search_issues}) falls under this pattern. A null or
     * malformed operation matches nothing.
     */
    public boolean matches(String operation) {
        if (operation == null) {
            return false;
        }
        return switch (kind) {
            case HTTP -> matchesHttp(operation);
            case GRPC -> matchesGrpc(operation);
            case TOOL -> matchesName(operation, TOOLS_CALL);
            case PROMPT -> matchesName(operation, PROMPTS_GET);
            case RESOURCE -> operation.startsWith(RESOURCES_READ)
                    && glob.matches(operation.substring(RESOURCES_READ.length()));
            case METHOD -> operation.startsWith(MCP) && methodMatches(name, operation, MCP.length());
        };
    }

    private boolean matchesHttp(String operation) {
        int space = operation.indexOf(' ');
        if (space <= 0) {
            return false;
        }
        // An HTTP method token has no ':'; this keeps "mcp:tools/call:x /y" (a hostile tool name) out of "* /**".
        int colon = operation.indexOf(':');
        if (colon >= 0 && colon < space) {
            return false;
        }
        return http.matches(operation, space);
    }

    private boolean matchesGrpc(String operation) {
        int start = GRPC.length();
        int methodStart = start + service.length() + 1;
        if (!operation.startsWith(GRPC) || operation.length() <= methodStart
                || !operation.regionMatches(start, service, 0, service.length())
                || operation.charAt(methodStart - 1) != '/') {
            return false;
        }
        if (name.equals(ANY)) {
            return operation.indexOf('/', methodStart) < 0;
        }
        return operation.length() - methodStart == name.length()
                && operation.regionMatches(methodStart, name, 0, name.length());
    }

    private boolean matchesName(String operation, String prefix) {
        if (!operation.startsWith(prefix) || operation.length() == prefix.length()) {
            return false;
        }
        return name.equals(ANY) || operation.length() - prefix.length() == name.length()
                && operation.regionMatches(prefix.length(), name, 0, name.length());
    }

    /** {@code pattern} is an MCP method pattern; the method is {@code s} from {@code from}. */
    private static boolean methodMatches(String pattern, String s, int from) {
        if (pattern.endsWith("/*")) {
            int prefixLen = pattern.length() - 1; // keeps the '/'
            if (s.length() - from <= prefixLen || !s.regionMatches(from, pattern, 0, prefixLen)) {
                return false;
            }
            for (int i = from + prefixLen; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '/' || c == ':') {
                    return false;
                }
            }
            return true;
        }
        return s.length() - from == pattern.length() && s.regionMatches(from, pattern, 0, pattern.length());
    }

    /**
     * Whether every operation this pattern matches is also matched by {@code wider}. Patterns of different
     * protocols are never within each other.
     */
    public boolean within(OperationPattern wider) {
        requireNonNull(wider, "wider");
        if (kind != wider.kind) {
            return false;
        }
        return switch (kind) {
            case HTTP -> http.within(wider.http);
            case GRPC -> service.equals(wider.service) && (wider.name.equals(ANY) || wider.name.equals(name));
            case TOOL, PROMPT -> wider.name.equals(ANY) || wider.name.equals(name);
            case RESOURCE -> wider.glob.covers(glob);
            case METHOD -> wider.name.equals(name) || !name.endsWith("/*") && methodMatches(wider.name, name, 0);
        };
    }

    /** The protocol the pattern is for: a pattern never matches an operation of another. */
    public Protocol protocol() {
        return switch (kind) {
            case HTTP -> Protocol.HTTP;
            case GRPC -> Protocol.GRPC;
            case TOOL, RESOURCE, PROMPT, METHOD -> Protocol.MCP;
        };
    }

    /** For a gRPC pattern, its service ({@code demo.Tools}); null otherwise. */
    public String grpcService() {
        return service;
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
