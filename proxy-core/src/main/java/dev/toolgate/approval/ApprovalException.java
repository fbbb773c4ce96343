package dev.toolgate.approval;

import static java.util.Objects.requireNonNull;

/**
 * A decision that cannot be made, with the kind of refusal (the control API maps it to the gRPC status of the same
 * name) and a message that names the approval and what was expected.
 */
public final class ApprovalException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why a decision was refused. */
    public enum Kind {
        /** Malformed: a denial without a reason, an over-long reason. */
        INVALID_ARGUMENT,
        /** The decider may not decide this one (its own request). */
        PERMISSION_DENIED,
        /** No such approval, or it expired (its task ended). */
        NOT_FOUND,
        /** Already decided, or being decided by someone else right now. */
        FAILED_PRECONDITION,
        /** The decision could not be audited; nothing changed. */
        UNAVAILABLE
    }

    private final Kind kind;

    public ApprovalException(Kind kind, String message) {
        super(message);
        this.kind = requireNonNull(kind, "kind");
    }

    public Kind kind() {
        return kind;
    }
}
