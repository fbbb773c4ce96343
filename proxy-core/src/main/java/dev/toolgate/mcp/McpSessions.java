package dev.toolgate.mcp;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;

/**
 * Which agent and task opened each MCP session: the {@code Mcp-Session-Id} an upstream hands out is bound to the
 * identity and task of the call that received it, and presented by another identity or task it is refused (a
 * session id is not a credential to share). Bounded; a binding is forgotten an hour after its last use (the task
 * itself lives at most as long as {@code tasks.maxTtl}). Thread-safe.
 */
public final class McpSessions {
    /** Who a session belongs to. */
    public record Owner(String agent, String taskId) {}

    private final Cache<String, Owner> owners = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterAccess(Duration.ofHours(1))
            .build();

    /** Records that the upstream of {@code route} gave {@code sessionId} to this agent and task (first one wins). */
    public void bind(String route, String sessionId, String agent, String taskId) {
        owners.asMap().putIfAbsent(key(route, sessionId), new Owner(agent, taskId));
    }

    /** The owner of a session, or null when the sidecar never saw the upstream hand it out. */
    public Owner owner(String route, String sessionId) {
        return owners.getIfPresent(key(route, sessionId));
    }

    private static String key(String route, String sessionId) {
        return route + '\n' + sessionId;
    }
}
