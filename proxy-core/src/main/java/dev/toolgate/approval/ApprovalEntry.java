package dev.toolgate.approval;

import dev.toolgate.identity.SpiffeId;
import java.time.Instant;

/**
 * One approval's live state in {@link Approvals}. Not thread-safe: every field is guarded by the registry's lock.
 */
final class ApprovalEntry {
    final String id;
    final ApprovalRequest request;
    final Instant createdAt;
    Approval.State state = Approval.State.PENDING;
    /** Pending: when it expires; approved: end of its window; denied: when the denial lapses (task expiry). */
    Instant until;
    SpiffeId decidedBy;
    String reason;
    Instant decidedAt;
    int callsLeft;
    /** An approver's decision is being audited: it is neither expired nor decided by another meanwhile. */
    boolean deciding;

    ApprovalEntry(String id, ApprovalRequest request, Instant createdAt, Instant until) {
        this.id = id;
        this.request = request;
        this.createdAt = createdAt;
        this.until = until;
    }

    Approval snapshot() {
        return new Approval(id, request, state, createdAt, until, decidedBy, reason, decidedAt, callsLeft);
    }
}
