package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.time.Duration;

/**
 * Approvals of calls whose policy rule says {@code approval: required} ({@code dev.toolgate.approval.Approvals}).
 *
 * @param pendingFor        how long a request waits for a decision before it expires (audited
 *                          {@code approval_expired}); never longer than the task lives
 * @param validFor          once approved, how long the same operation (same task, operation and argument digest)
 *                          passes; never longer than the task lives
 * @param calls             once approved, how many calls of that operation pass (whichever of {@code validFor} and
 *                          {@code calls} ends first)
 * @param maxPending        requests waiting for a decision at once, over all tasks; more are refused
 *                          ({@code DENY_BUDGET}) until some are decided or expire
 * @param maxPendingPerTask requests one task may have waiting at once (one agent cannot crowd out the others)
 */
public record ApprovalsConfig(Duration pendingFor, Duration validFor, Integer calls, Integer maxPending,
                              Integer maxPendingPerTask) {
    private static final Duration MAX_DURATION = Duration.ofDays(1);

    public ApprovalsConfig {
        pendingFor = positive("pendingFor", requireNonNullElse(pendingFor, Duration.ofMinutes(10)));
        validFor = positive("validFor", requireNonNullElse(validFor, Duration.ofMinutes(5)));
        calls = requireNonNullElse(calls, 1);
        if (calls < 1 || calls > 1_000_000) {
            throw new IllegalArgumentException("calls: " + calls + " (expected: 1..1000000)");
        }
        maxPending = requireNonNullElse(maxPending, 1000);
        if (maxPending < 1 || maxPending > 1_000_000) {
            throw new IllegalArgumentException("maxPending: " + maxPending + " (expected: 1..1000000)");
        }
        maxPendingPerTask = requireNonNullElse(maxPendingPerTask, 16);
        if (maxPendingPerTask < 1 || maxPendingPerTask > maxPending) {
            throw new IllegalArgumentException("maxPendingPerTask: " + maxPendingPerTask + " (expected: 1.."
                    + maxPending + ", at most maxPending)");
        }
    }

    public static ApprovalsConfig defaults() {
        return new ApprovalsConfig(null, null, null, null, null);
    }

    private static Duration positive(String name, Duration d) {
        if (d.isNegative() || d.isZero() || d.compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException(name + ": " + d + " (expected: > 0 and at most 24h)");
        }
        return d;
    }
}
