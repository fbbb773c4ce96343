package dev.toolgate.mcp;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The audit's {@code args_digest}: SHA-256 (hex) of a call's arguments in {@link CanonicalJson} (object keys sorted
 * by their UTF-16 code units, no whitespace, strings escaped as Jackson writes them, numbers in the textual form of
 * their parsed value). Two bodies
 * that differ only in key order or spacing have the same digest; any other difference gives another. What an
 * approval is given for (together with the task and the operation), and what an audit reader compares calls by
 * without seeing their arguments. Stateless and thread-safe.
 */
public final class ArgsDigest {
    private ArgsDigest() {}

    /** The digest of {@code arguments}, or null for none (a call without arguments has no digest). */
    public static String of(JsonNode arguments) {
        if (arguments == null || arguments.isMissingNode()) {
            return null;
        }
        return CanonicalJson.sha256(arguments);
    }

    /** The digest of the arguments of an MCP message ({@code params.arguments}), or null when it has none. */
    public static String of(McpMessage message) {
        return message == null ? null : of(message.arguments());
    }
}
