package dev.toolgate.approval;

import static java.util.Objects.requireNonNull;

/**
 * What the registry says about a call that needs approval ({@link Approvals#check}).
 *
 * @param outcome  what it means for the call
 * @param approval the approval concerned (null for {@link Outcome#REFUSED} and {@link Outcome#FAILED})
 * @param reason   for {@link Outcome#REFUSED} and {@link Outcome#FAILED}: why, for the agent; else null
 */
public record ApprovalCheck(Outcome outcome, Approval approval, String reason) {

    /** What the call gets. */
    public enum Outcome {
        /** Approved and one call of it taken: the call goes on to the remaining checks. */
        APPROVED,
        /** Waiting for a person (new or the same pending approval as before): the call is not forwarded. */
        PENDING,
        /** A person denied it: the call is denied. */
        DENIED,
        /** Too many approvals are waiting (the bounds): the call is denied without a new approval. */
        REFUSED,
        /** The request could not be audited: the call is denied (fail closed). */
        FAILED
    }

    public ApprovalCheck {
        requireNonNull(outcome, "outcome");
        if ((approval == null) != (outcome == Outcome.REFUSED || outcome == Outcome.FAILED)) {
            throw new IllegalArgumentException("approval: " + approval + " (expected: set exactly for "
                    + "APPROVED, PENDING and DENIED; outcome " + outcome + ")");
        }
    }
}
