package dev.toolgate.mcp;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A parsed MCP POST body: one JSON-RPC message, or a batch (a JSON array) of them in the order
 * sent. Every message of a batch is authorized on its own; an upstream executes them all.
 *
 * <p>Immutable and thread-safe, provided nobody mutates the {@code JsonNode}s inside.
 *
 * @param messages the messages, never empty; exactly one when {@code batch} is false
 * @param batch    whether the body was a JSON array (even of one element)
 */
public record McpRequest(List<McpMessage> messages, boolean batch) {
    /**
     * @throws NullPointerException     if {@code messages} or one of them is null
     * @throws IllegalArgumentException if {@code messages} is empty, or holds more than one message
     *                                  while {@code batch} is false
     */
    public McpRequest {
        messages = List.copyOf(requireNonNull(messages, "messages"));
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("messages: empty (expected: at least one)");
        }
        if (!batch && messages.size() != 1) {
            throw new IllegalArgumentException(
                    "messages: " + messages.size() + " (expected: 1 when not a batch)");
        }
    }
}
