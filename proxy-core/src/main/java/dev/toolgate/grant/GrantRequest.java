package dev.toolgate.grant;

import java.time.Duration;
import java.util.List;

/**
 * A grant as asked for in StartTask or DelegateTask. Validated by {@link TaskRegistry} (route known, operations
 * well formed, budget positive, TTL within the task's).
 *
 * @param route      route name
 * @param operations operation patterns such as {@code GET /forecast/**}
 * @param condition  an expression for the policy engine, or null
 * @param budget     maximum number of calls, or null for no limit
 * @param ttl        lifetime, or null for the task's
 */
public record GrantRequest(String route, List<String> operations, String condition, Long budget, Duration ttl) {
    public GrantRequest {
        operations = operations == null ? List.of() : List.copyOf(operations);
    }
}
