package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/**
 * One grant of a task: on {@code route}, the {@code operations} it lists, while {@code condition} holds (none
 * yet: conditions arrive with the policy engine), at most {@code budget} calls (null: no limit), until
 * {@code expiresAt} (never after the task's expiry). Immutable.
 *
 * @param id         unique within its task ({@code g1}, {@code g2}, ...)
 * @param route      route name
 * @param operations what it allows on the route; a call must match one
 * @param condition  a policy-engine expression that must hold on each call, or null
 * @param budget     the number of calls it allows, or null for no limit
 * @param expiresAt  when it stops working
 */
public record Grant(String id, String route, List<OperationPattern> operations, String condition, Long budget,
                    Instant expiresAt) {
    public Grant {
        requireNonNull(id, "id");
        requireNonNull(route, "route");
        operations = List.copyOf(operations);
        requireNonNull(expiresAt, "expiresAt");
    }

    /** Whether a call of {@code method} on the route-relative {@code path} falls under one of its operations. */
    public boolean matches(String method, String path) {
        for (OperationPattern p : operations) {
            if (p.matches(method, path)) {
                return true;
            }
        }
        return false;
    }
}
