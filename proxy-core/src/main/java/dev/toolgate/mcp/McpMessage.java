package dev.toolgate.mcp;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One JSON-RPC message of an MCP call as the authorizer sees it: a request, a notification, or a
 * response the client sends back to a server request (sampling, elicitation, roots).
 *
 * <p>A response has a null {@code method}, an id, and the operation {@code mcp:response}; it
 * carries no tool, uri or arguments. The tool name, prompt name and uri are exactly as sent after
 * JSON unescaping (no case folding, trimming or Unicode normalization): matching is exact.
 *
 * <p>Immutable and thread-safe as long as nobody mutates {@code id} or {@code arguments}: they are
 * subtrees of the parsed body, shared rather than copied, and must be treated as read-only.
 *
 * @param id           the request id (a textual or integral number node); null for a notification
 * @param method       the JSON-RPC method; null for a response
 * @param tool         {@code params.name} for {@code tools/call} and {@code prompts/get}, else null
 * @param uri          {@code params.uri} for {@code resources/read}, else null
 * @param arguments    {@code params.arguments} (an object) for {@code tools/call} and
 *                     {@code prompts/get} when present, else null
 * @param notification true for a request without id (no answer expected)
 */
public record McpMessage(JsonNode id, String method, String tool, String uri, JsonNode arguments,
                         boolean notification) {

    /** Operation given to a client's response to a server request. */
    public static final String RESPONSE_OPERATION = "mcp:response";

    static final String TOOLS_CALL = "tools/call";
    static final String RESOURCES_READ = "resources/read";
    static final String PROMPTS_GET = "prompts/get";

    /**
     * @throws IllegalArgumentException if the fields contradict each other: a notification with an
     *                                  id, a request or response without one, a response marked as
     *                                  notification, or a {@code tools/call}, {@code prompts/get}
     *                                  without a name or {@code resources/read} without a uri
     */
    public McpMessage {
        if (notification != (id == null)) {
            throw new IllegalArgumentException("id: " + id + " (expected: null exactly for a notification)");
        }
        if (method == null && (notification || tool != null || uri != null || arguments != null)) {
            throw new IllegalArgumentException("a response (null method) has an id and nothing else");
        }
        if ((TOOLS_CALL.equals(method) || PROMPTS_GET.equals(method)) && tool == null) {
            throw new IllegalArgumentException("tool: null (expected: the name for " + method + ")");
        }
        if (RESOURCES_READ.equals(method) && uri == null) {
            throw new IllegalArgumentException("uri: null (expected: the uri for resources/read)");
        }
    }

    /** Whether this is a client's response to a server request rather than a request. */
    public boolean response() {
        return method == null;
    }

    /**
     * The operation grants and policies are matched against: {@code mcp:tools/call:<tool>},
     * {@code mcp:resources/read:<uri>}, {@code mcp:prompts/get:<name>}, {@code mcp:response} for a
     * response, {@code mcp:<method>} for everything else. Built on each call (a concatenation).
     */
    public String operation() {
        if (method == null) {
            return RESPONSE_OPERATION;
        }
        return switch (method) {
            case TOOLS_CALL, PROMPTS_GET -> "mcp:" + method + ':' + tool;
            case RESOURCES_READ -> "mcp:" + method + ':' + uri;
            default -> "mcp:" + method;
        };
    }

    @Override
    public String toString() {
        // Arguments may hold personal data or secrets: never part of the string form.
        return "McpMessage[id=" + id + ", operation=" + operation() + ", notification=" + notification + "]";
    }
}
