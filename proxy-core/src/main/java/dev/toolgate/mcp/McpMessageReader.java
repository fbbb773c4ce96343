package dev.toolgate.mcp;

import static dev.toolgate.mcp.McpMessage.PROMPTS_GET;
import static dev.toolgate.mcp.McpMessage.RESOURCES_READ;
import static dev.toolgate.mcp.McpMessage.TOOLS_CALL;
import static dev.toolgate.mcp.McpParseException.INVALID_PARAMS;
import static dev.toolgate.mcp.McpParseException.INVALID_REQUEST;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/**
 * Checks one parsed JSON-RPC message against JSON-RPC 2.0 and MCP's narrowing of it, and pulls
 * out what the authorizer decides on. Stateless.
 */
final class McpMessageReader {

    private McpMessageReader() {}

    /**
     * @param node   one element of the body
     * @param prefix put before every reason ("batch[2]: "), or null for a single message
     */
    static McpMessage read(JsonNode node, String prefix) throws McpParseException {
        String p = prefix == null ? "" : prefix;
        if (!node.isObject()) {
            throw new McpParseException(INVALID_REQUEST,
                    p + "not a JSON object (expected: a JSON-RPC request object)", null);
        }
        JsonNode version = node.get("jsonrpc");
        if (version == null) {
            throw new McpParseException(INVALID_REQUEST, p + "\"jsonrpc\" missing (expected: \"2.0\")", null);
        }
        if (!version.isTextual() || !version.textValue().equals("2.0")) {
            throw new McpParseException(INVALID_REQUEST, p + "\"jsonrpc\" is not \"2.0\"", null);
        }
        // Batches get null: one error answers the whole batch, it cannot echo every id.
        JsonNode id = node.get("id");
        JsonNode echo = prefix == null && validId(id) ? id : null;
        JsonNode methodNode = node.get("method");
        boolean result = node.has("result");
        boolean error = node.has("error");
        if (methodNode == null && (result || error)) {
            return response(node, id, p);
        }
        if (result || error) {
            throw new McpParseException(INVALID_REQUEST,
                    p + "a message with \"method\" must not have \"result\" or \"error\"", echo);
        }
        if (methodNode == null) {
            throw new McpParseException(INVALID_REQUEST, p + "\"method\" missing", echo);
        }
        if (!methodNode.isTextual()) {
            throw new McpParseException(INVALID_REQUEST, p + "\"method\" is not a string", echo);
        }
        String method = methodNode.textValue();
        if (method.isEmpty()) {
            throw new McpParseException(INVALID_REQUEST, p + "\"method\" is empty", echo);
        }
        String bad = badCharacter(method);
        if (bad != null) {
            throw new McpParseException(INVALID_REQUEST, p + "\"method\" contains " + bad, echo);
        }
        boolean notification = id == null;
        if (!notification) {
            checkId(id, p, "request");
        }
        JsonNode params = node.get("params");
        if (params != null && !params.isObject() && !params.isArray()) {
            throw new McpParseException(INVALID_REQUEST, p + "\"params\" is not an object or array", echo);
        }
        return switch (method) {
            case TOOLS_CALL -> named(id, method, params, "name", p, echo);
            case PROMPTS_GET -> named(id, method, params, "name", p, echo);
            case RESOURCES_READ -> new McpMessage(id, method, null,
                    requiredName(method, params, "uri", p, echo), null, notification);
            default -> new McpMessage(id, method, null, null, null, notification);
        };
    }

    private static McpMessage response(JsonNode node, JsonNode id, String p) throws McpParseException {
        if (node.has("result") && node.has("error")) {
            throw new McpParseException(INVALID_REQUEST,
                    p + "a response has \"result\" or \"error\", not both", null);
        }
        if (id == null) {
            throw new McpParseException(INVALID_REQUEST, p + "a response without \"id\"", null);
        }
        checkId(id, p, "response");
        return new McpMessage(id, null, null, null, null, false);
    }

    private static McpMessage named(JsonNode id, String method, JsonNode params, String key, String p,
                                    JsonNode echo) throws McpParseException {
        String name = requiredName(method, params, key, p, echo);
        JsonNode arguments = params.get("arguments");
        if (arguments != null && !arguments.isObject()) {
            throw new McpParseException(INVALID_PARAMS,
                    p + method + ": \"params.arguments\" is not an object", echo);
        }
        return new McpMessage(id, method, name, null, arguments, id == null);
    }

    private static String requiredName(String method, JsonNode params, String key, String p, JsonNode echo)
            throws McpParseException {
        if (params == null || !params.isObject()) {
            throw new McpParseException(INVALID_PARAMS,
                    p + method + ": \"params\" missing or not an object (expected: {\"" + key + "\": ...})", echo);
        }
        JsonNode value = params.get(key);
        if (value == null || !value.isTextual()) {
            throw new McpParseException(INVALID_PARAMS,
                    p + method + ": \"params." + key + "\" missing or not a string", echo);
        }
        String text = value.textValue();
        if (text.isEmpty()) {
            throw new McpParseException(INVALID_PARAMS, p + method + ": \"params." + key + "\" is empty", echo);
        }
        String bad = badCharacter(text);
        if (bad != null) {
            throw new McpParseException(INVALID_PARAMS, p + method + ": \"params." + key + "\" contains " + bad
                    + " (refused: it would forge audit and log output)", echo);
        }
        return text;
    }

    private static void checkId(JsonNode id, String p, String what) throws McpParseException {
        if (id.isNull()) {
            throw new McpParseException(INVALID_REQUEST,
                    p + "\"id\" is null (MCP: a " + what + " id is a string or an integer)", null);
        }
        if (!validId(id)) {
            throw new McpParseException(INVALID_REQUEST,
                    p + "\"id\" is not a string or an integer", null);
        }
    }

    /** MCP narrows JSON-RPC ids to strings and integers (no null, no fractions). */
    private static boolean validId(JsonNode id) {
        return id != null && (id.isTextual() || id.isIntegralNumber());
    }

    /**
     * Names end up in operations, audit records and logs, where control, format (bidi overrides,
     * zero-width), line-separator and lone surrogate characters forge or hide output. Nobody names
     * a tool with them. Returns a description of the first one, or null.
     */
    static String badCharacter(String s) {
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            switch (Character.getType(cp)) {
                case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR,
                        Character.PARAGRAPH_SEPARATOR, Character.SURROGATE -> {
                    return String.format(Locale.ROOT, "the control or format character U+%04X at index %d", cp, i);
                }
                default -> i += Character.charCount(cp);
            }
        }
        return null;
    }
}
