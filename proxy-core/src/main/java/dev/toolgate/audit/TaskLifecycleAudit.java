package dev.toolgate.audit;

import dev.toolgate.grant.Task;
import dev.toolgate.grant.TaskAudit;
import dev.toolgate.grant.TaskEvent;
import dev.toolgate.grant.TaskState;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes task lifecycle events as {@code task} records to the audit trail and waits (off the event loop) until each
 * is in the file, up to the trail's bound: a start, end or revoke is answered only once its record is written.
 * Thread-safe.
 */
public final class TaskLifecycleAudit implements TaskAudit {
    private final AuditTrail trail;
    private final Clock clock;
    private final Duration maxWait;

    public TaskLifecycleAudit(AuditTrail trail, Clock clock, Duration maxWait) {
        this.trail = trail;
        this.clock = clock;
        this.maxWait = maxWait;
    }

    /** Writes the event's record and waits until it is in the file; false (refuse the request) if it is not. */
    @Override
    public boolean record(TaskEvent event, Task task) {
        if (trail.isClosed()) {
            return false;
        }
        return trail.writeAndWait(toRecord(event, task), maxWait);
    }

    private AuditRecord toRecord(TaskEvent event, Task task) {
        String name;
        String actor;
        String grantId = null;
        String reason = null;
        if (event instanceof TaskEvent.Started) {
            name = task.parentId() == null ? "start" : "delegate";
            actor = task.startedBy().uri();
            reason = task.grants().size() + " grants, expires " + task.expiresAt();
        } else if (event instanceof TaskEvent.Ended e) {
            name = e.state() == TaskState.ENDED ? "end" : "revoke";
            actor = e.by();
            reason = e.reason().isEmpty() ? null : e.reason();
        } else {
            TaskEvent.GrantRevoked g = (TaskEvent.GrantRevoked) event;
            name = "revoke_grant";
            actor = g.by();
            grantId = g.grantId();
            reason = g.reason().isEmpty() ? null : g.reason();
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        String id = String.format("%016x%016x", r.nextLong(), r.nextLong());
        return AuditRecord.task(clock.instant(), id, name, actor, task.subject().uri(), task.id(), task.parentId(),
                task.purpose(), grantId, reason);
    }
}
