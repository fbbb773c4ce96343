package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

/**
 * How large an MCP POST body a route reads and judges ({@code mcp.limits}); anything larger is refused before it is
 * forwarded ({@code DENY_MALFORMED}; an oversized body 413). The defaults suit tool calls with documents of a few
 * hundred KiB; a route whose tools take larger arguments (a file write) raises them.
 *
 * @param maxBodyBytes   largest body, in bytes (default 1 MiB, at most 64 MiB: the sidecar holds it in memory to
 *                       judge every message before anything is forwarded)
 * @param maxStringChars longest string value or object key, in characters (default 262,144)
 * @param maxDepth       deepest nesting of arrays and objects (default 32; a batch adds one level)
 * @param maxBatch       most messages in one JSON-RPC batch (default 64)
 */
public record McpLimitsConfig(Integer maxBodyBytes, Integer maxStringChars, Integer maxDepth, Integer maxBatch) {
    /** The defaults. */
    public static final McpLimitsConfig DEFAULTS = new McpLimitsConfig(null, null, null, null);
    /** The largest {@code maxBodyBytes} a route may set. */
    public static final int MAX_BODY_BYTES = 64 << 20;

    public McpLimitsConfig {
        maxBodyBytes = requireNonNullElse(maxBodyBytes, 1 << 20);
        maxStringChars = requireNonNullElse(maxStringChars, 256 << 10);
        maxDepth = requireNonNullElse(maxDepth, 32);
        maxBatch = requireNonNullElse(maxBatch, 64);
        if (maxBodyBytes < 1024 || maxBodyBytes > MAX_BODY_BYTES) {
            throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: 1024 to "
                    + MAX_BODY_BYTES + ")");
        }
        if (maxStringChars < 1) {
            throw new IllegalArgumentException("maxStringChars: " + maxStringChars + " (expected: > 0)");
        }
        if (maxDepth < 2 || maxDepth > 1000) {
            throw new IllegalArgumentException("maxDepth: " + maxDepth + " (expected: 2 to 1000)");
        }
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch: " + maxBatch + " (expected: > 0)");
        }
    }
}
