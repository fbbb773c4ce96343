package dev.toolgate.approval;

import static java.util.Objects.requireNonNull;

import dev.toolgate.identity.SpiffeId;
import java.time.Instant;

/**
 * One approval as it stands at a moment: the request, its state and, once decided, who decided, why and when. A
 * snapshot (immutable); the registry keeps the live state.
 *
 * @param id         {@code apr_} and 24 hex digits (random); safe to log and audit
 * @param request    what the call asks for
 * @param state      where it is
 * @param createdAt  when the first call asked
 * @param expiresAt  while pending: when it expires undecided; approved: when the approval stops covering calls;
 *                   denied: when the task expires (the denial holds that long)
 * @param decidedBy  who decided, or null while pending or when it expired
 * @param reason     the decider's reason, or why it expired; null while pending
 * @param decidedAt  when it was decided, or null
 * @param callsLeft  approved: calls it still covers; 0 otherwise
 */
public record Approval(String id, ApprovalRequest request, State state, Instant createdAt, Instant expiresAt,
                       SpiffeId decidedBy, String reason, Instant decidedAt, int callsLeft) {

    /** Where an approval is. */
    public enum State {
        /** Waiting for a decision; every identical call is answered {@code PENDING_APPROVAL}. */
        PENDING,
        /** Approved: identical calls pass, within the window and the call count. */
        APPROVED,
        /** Denied: identical calls are denied for as long as the task lives. */
        DENIED,
        /** Undecided in time, or its task ended; a new identical call asks again with a new id. */
        EXPIRED
    }

    public Approval {
        requireNonNull(id, "id");
        requireNonNull(request, "request");
        requireNonNull(state, "state");
        requireNonNull(createdAt, "createdAt");
        requireNonNull(expiresAt, "expiresAt");
    }
}
