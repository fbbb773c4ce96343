package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

/**
 * MCP settings of a route ({@code protocol: mcp}).
 *
 * @param filterToolsList answer {@code tools/list} with only the tools the task holds a live grant for, so the
 *                        agent's model never sees the others (default false: the answer passes unchanged; the
 *                        digest of each tool definition is recorded either way)
 * @param limits          how large a body the route reads and judges (defaults: {@link McpLimitsConfig#DEFAULTS})
 */
public record McpRouteConfig(Boolean filterToolsList, McpLimitsConfig limits) {
    /** The defaults: nothing filtered, default limits. */
    public static final McpRouteConfig DEFAULTS = new McpRouteConfig(false, null);

    public McpRouteConfig {
        filterToolsList = filterToolsList != null && filterToolsList;
        limits = requireNonNullElse(limits, McpLimitsConfig.DEFAULTS);
    }

    /** Settings with default limits. */
    public McpRouteConfig(Boolean filterToolsList) {
        this(filterToolsList, null);
    }

    /** Whether {@code tools/list} answers are filtered. */
    public boolean filters() {
        return filterToolsList;
    }

    /** Whether anything differs from the defaults (such settings belong on an MCP route only). */
    boolean set() {
        return filterToolsList || !limits.equals(McpLimitsConfig.DEFAULTS);
    }
}
