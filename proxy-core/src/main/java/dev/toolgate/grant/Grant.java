package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import dev.toolgate.call.Call;
import dev.toolgate.operation.OperationPattern;
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

    /**
     * Whether {@code call} falls under one of its operations. An HTTP pattern ({@code METHOD /path}) never
     * matches on an MCP route: there a POST carries JSON-RPC messages, judged one by one by what they do.
     * Kinds never cross ({@link OperationPattern}): on a gRPC route the operation is {@code grpc:package.Service/Method}.
     */
    public boolean matches(Call call) {
        return matches(call.operation());
    }

    /** Whether the operation string of a call ({@link Call#operation()}, built once per decision) is granted. */
    public boolean matches(String operation) {
        for (OperationPattern p : operations) {
            if (p.matches(operation)) {
                return true;
            }
        }
        return false;
    }
}
