package dev.toolgate.mcp;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The last definition digest of every tool each MCP route's server listed, so a definition that changes between
 * two {@code tools/list} answers (a "rug pull": same name, new description or schema) is named in the audit.
 * Bounded (tools seen across all routes); thread-safe.
 */
public final class McpToolDigests {
    private final Cache<String, String> last = Caffeine.newBuilder().maximumSize(100_000).build();

    /**
     * Remembers what a server listed on {@code route} and returns the tools whose definitions differ from what
     * was seen there before (empty the first time a tool is seen).
     */
    public List<String> changed(String route, Map<String, String> digests) {
        List<String> changed = new ArrayList<>();
        digests.forEach((tool, digest) -> {
            String before = last.asMap().put(route + '\n' + tool, digest);
            if (before != null && !before.equals(digest)) {
                changed.add(tool);
            }
        });
        return changed;
    }
}
