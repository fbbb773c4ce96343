package dev.toolgate.grant;

import dev.toolgate.identity.SpiffeId;
import java.time.Duration;
import java.util.List;

/**
 * What StartTask and DelegateTask ask for.
 *
 * @param agent   the task's subject; null for the caller itself. Naming another agent needs an orchestrator
 *                (StartTask) and is required for DelegateTask (the child agent).
 * @param purpose what the task is for, in words (audited with every call)
 * @param ttl     how long the task lives; null for the configured default
 * @param grants  what it may do
 */
public record StartRequest(SpiffeId agent, String purpose, Duration ttl, List<GrantRequest> grants) {
    public StartRequest {
        grants = grants == null ? List.of() : List.copyOf(grants);
    }
}
