package dev.toolgate.mcp;

import static java.util.Objects.requireNonNull;

import dev.toolgate.common.Protocol;
import java.util.Set;

/**
 * MCP protocol housekeeping (DESIGN.md, Operations and matching): the operations an MCP session needs whatever
 * tools it calls, which a task may perform on an MCP route where it holds any live grant, without a grant of their
 * own. They are session set-up ({@code mcp:initialize}, {@code mcp:notifications/initialized}), liveness
 * ({@code mcp:ping}), cancellation ({@code mcp:notifications/cancelled}), and the two requests of the Streamable HTTP
 * transport that carry no JSON-RPC message: the GET of the server-sent event stream ({@link #STREAM}) and the DELETE
 * that closes the session ({@link #SESSION_CLOSE}). Such calls are still decided and audited like any other; only
 * the grant that must match them differs.
 *
 * <p>Stateless and thread-safe.
 */
public final class McpHousekeeping {
    /** The operation of the transport's GET: the server-sent event stream of a session. */
    public static final String STREAM = "mcp:stream";
    /** The operation of the transport's DELETE: the end of a session. */
    public static final String SESSION_CLOSE = "mcp:session/close";

    private static final Set<String> OPERATIONS = Set.of("mcp:initialize", "mcp:notifications/initialized",
            "mcp:ping", "mcp:notifications/cancelled", STREAM, SESSION_CLOSE);

    private McpHousekeeping() {}

    /**
     * Whether {@code operation} on a route of {@code protocol} is housekeeping: only ever on an MCP route.
     *
     * @param operation the call's operation as grants see it ({@code mcp:ping}, {@code GET /x}, ...)
     * @throws NullPointerException when an argument is null
     */
    public static boolean covers(Protocol protocol, String operation) {
        requireNonNull(protocol, "protocol");
        requireNonNull(operation, "operation");
        return protocol == Protocol.MCP && OPERATIONS.contains(operation);
    }

    /**
     * The operation of an MCP transport request that carries no JSON-RPC message: {@link #STREAM} for a GET,
     * {@link #SESSION_CLOSE} for a DELETE; null for any other method (its operation is {@code METHOD /path}).
     */
    public static String transportOperation(String method) {
        return switch (requireNonNull(method, "method")) {
            case "GET" -> STREAM;
            case "DELETE" -> SESSION_CLOSE;
            default -> null;
        };
    }
}
