package dev.toolgate.grant;

/**
 * Where a task is in its life. Only {@link #ACTIVE} tasks authorize calls. {@link #EXPIRED} is never stored: it is
 * what an active task whose expiry has passed reads as.
 */
public enum TaskState {
    /** Started and not yet ended, revoked or expired. */
    ACTIVE,
    /** Ended by its subject or the one who started it (the normal end of the work). */
    ENDED,
    /** Ended by force: revoked by an operator, or ended because its parent ended or was revoked. */
    REVOKED,
    /** Its expiry passed while it was active. */
    EXPIRED;

    /** The lower-case name used in JSON answers and audit records. */
    public String json() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
