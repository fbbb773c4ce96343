package dev.toolgate.approval;

import dev.toolgate.identity.SpiffeId;

/**
 * Where the registry reports each approval step for the audit trail ({@code phase: task} records with
 * {@code event} {@code approval_requested}, {@code approval_granted}, {@code approval_denied},
 * {@code approval_expired}). Implementations must be thread-safe.
 */
public interface ApprovalAudit {
    /** Audits nothing (tests of the registry alone). */
    ApprovalAudit NONE = (event, approval, actor, reason, mayWait) -> true;

    /** An approval step. */
    enum Event {
        REQUESTED("approval_requested"), GRANTED("approval_granted"), DENIED("approval_denied"),
        EXPIRED("approval_expired");

        private final String json;

        Event(String json) {
            this.json = json;
        }

        /** The record's {@code event} value. */
        public String json() {
            return json;
        }
    }

    /**
     * Records {@code event} of {@code approval}.
     *
     * @param actor   who did it: the calling agent for a request, the approver for a decision, null for an expiry
     * @param reason  the decider's reason or why it expired; may be null
     * @param mayWait whether the caller may wait for room in the audit trail (up to its bound): false on an event
     *                loop, where only one non-blocking attempt is made
     * @return whether the record was accepted
     */
    boolean record(Event event, Approval approval, SpiffeId actor, String reason, boolean mayWait);
}
