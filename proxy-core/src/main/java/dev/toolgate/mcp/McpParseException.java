package dev.toolgate.mcp;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Thrown by {@link McpParser} for an MCP POST body it refuses. Carries the JSON-RPC error code the
 * client should be answered with and a short reason that says what to fix. The reason never
 * echoes raw input (a tool name, a key, a value): at most a position in the body and a code
 * point, so it is safe to return to the client and to write to the audit trail.
 *
 * <p>Carries no stack trace: refusals are expected input, possibly at a high rate. Immutable and
 * thread-safe.
 */
public final class McpParseException extends Exception {

    /** JSON-RPC 2.0: the body is not JSON. */
    public static final int PARSE_ERROR = -32700;
    /** JSON-RPC 2.0: the JSON is not a valid request object (or breaks a limit). */
    public static final int INVALID_REQUEST = -32600;
    /** JSON-RPC 2.0: the method's parameters are missing or invalid. */
    public static final int INVALID_PARAMS = -32602;

    private static final long serialVersionUID = 1L;

    private final int code;
    private final transient JsonNode id;

    /**
     * Creates a refusal.
     *
     * @param code   {@link #PARSE_ERROR}, {@link #INVALID_REQUEST} or {@link #INVALID_PARAMS}
     * @param reason what is wrong, phrased so the sender can fix it
     * @param id     the id of the request at fault when it was read and valid, else null
     * @throws NullPointerException     if {@code reason} is null
     * @throws IllegalArgumentException if {@code code} is not one of the three codes
     */
    public McpParseException(int code, String reason, JsonNode id) {
        super(requireNonNull(reason, "reason"), null, false, false);
        if (code != PARSE_ERROR && code != INVALID_REQUEST && code != INVALID_PARAMS) {
            throw new IllegalArgumentException("code: " + code + " (expected: -32700, -32600 or -32602)");
        }
        this.code = code;
        this.id = id;
    }

    /** The JSON-RPC error code to answer with. */
    public int code() {
        return code;
    }

    /** What is wrong; the same as {@link #getMessage()}. */
    public String reason() {
        return getMessage();
    }

    /**
     * The id of the request at fault, so the JSON-RPC error can echo it; null when the body was
     * a batch, when the id could not be read, or for a notification. Must not be mutated.
     */
    public JsonNode id() {
        return id;
    }

    @Override
    public String toString() {
        return "McpParseException[" + code + ": " + getMessage() + "]";
    }
}
