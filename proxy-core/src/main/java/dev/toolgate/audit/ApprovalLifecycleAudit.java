package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import dev.toolgate.approval.Approval;
import dev.toolgate.approval.ApprovalAudit;
import dev.toolgate.approval.ApprovalRequest;
import dev.toolgate.identity.SpiffeId;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes approval steps as {@code task} records ({@code event} {@code approval_requested}, {@code approval_granted},
 * {@code approval_denied}, {@code approval_expired}; {@code actor} the agent that asked or the approver) with the
 * intent they are about: agent, task, purpose, route, operation, {@code args_digest}, the rule ({@code policy}) and
 * {@code approval_id}. Waits for room in the trail (up to its bound) only when the caller may wait. Thread-safe.
 */
public final class ApprovalLifecycleAudit implements ApprovalAudit {
    private final AuditTrail trail;
    private final Clock clock;
    private final long maxWaitNanos;

    public ApprovalLifecycleAudit(AuditTrail trail, Clock clock, Duration maxWait) {
        this.trail = requireNonNull(trail, "trail");
        this.clock = requireNonNull(clock, "clock");
        this.maxWaitNanos = maxWait.toNanos();
    }

    @Override
    public boolean record(Event event, Approval approval, SpiffeId actor, String reason, boolean mayWait) {
        ApprovalRequest r = approval.request();
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        String id = String.format("%016x%016x", rnd.nextLong(), rnd.nextLong());
        AuditRecord rec = AuditRecord.approval(clock.instant(), id, event.json(), actor == null ? null : actor.uri(),
                r.agent().uri(), r.taskId(), r.purpose(), r.route(), r.operation(), r.argsDigest(), r.policy(),
                approval.id(), reason);
        if (trail.offer(rec)) {
            return true;
        }
        if (!mayWait) {
            return false;
        }
        long deadline = System.nanoTime() + maxWaitNanos;
        while (!trail.offer(rec)) {
            if (!trail.available() || System.nanoTime() - deadline > 0) {
                return false;
            }
            LockSupport.parkNanos(1_000_000);
        }
        return true;
    }
}
