package dev.toolgate.grant;

/**
 * Where the registry reports task lifecycle events for the audit trail. A start is only answered once its record
 * was accepted; ends and revocations take effect whatever the audit trail says (refusing to revoke would fail
 * open) and are reported after.
 */
@FunctionalInterface
public interface TaskAudit {
    /** Audits nothing (tests of the registry alone). */
    TaskAudit NONE = (event, task) -> true;

    /**
     * Records {@code event} of {@code task}, waiting as long as the audit trail's bound allows.
     *
     * @return whether the record was accepted
     */
    boolean record(TaskEvent event, Task task);
}
