package dev.toolgate.config;

/**
 * MCP settings of a route ({@code protocol: mcp}).
 *
 * @param filterToolsList answer {@code tools/list} with only the tools the task holds a live grant for, so the
 *                        agent's model never sees the others (default false: the answer passes unchanged; the
 *                        digest of each tool definition is recorded either way)
 */
public record McpRouteConfig(Boolean filterToolsList) {
    /** The defaults: nothing filtered. */
    public static final McpRouteConfig DEFAULTS = new McpRouteConfig(false);

    public McpRouteConfig {
        filterToolsList = filterToolsList != null && filterToolsList;
    }

    /** Whether {@code tools/list} answers are filtered. */
    public boolean filters() {
        return filterToolsList;
    }
}
