package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * A change of task state, as a {@link TaskStore} records it and as the audit trail reports it. Replaying the
 * events of a store in order rebuilds every task exactly.
 */
public sealed interface TaskEvent {

    /** When it happened. */
    Instant at();

    /** The task it concerns. */
    String taskId();

    /** A task was started or delegated ({@code task.parentId() != null}). */
    record Started(Instant at, Task task) implements TaskEvent {
        public Started {
            requireNonNull(at, "at");
            requireNonNull(task, "task");
        }

        @Override
        public String taskId() {
            return task.id();
        }
    }

    /**
     * A task was ended ({@link TaskState#ENDED}) or revoked ({@link TaskState#REVOKED}), and with it every task
     * delegated from it, which the registry ends without events of their own.
     *
     * @param by     SPIFFE ID of who ended it
     * @param reason why, in words (may be empty)
     */
    record Ended(Instant at, String taskId, TaskState state, String by, String reason) implements TaskEvent {
        public Ended {
            requireNonNull(at, "at");
            requireNonNull(taskId, "taskId");
            if (state != TaskState.ENDED && state != TaskState.REVOKED) {
                throw new IllegalArgumentException("state: " + state + " (expected: ENDED or REVOKED)");
            }
            requireNonNull(by, "by");
            requireNonNull(reason, "reason");
        }
    }

    /** One grant of a task was revoked; the task and its other grants go on. */
    record GrantRevoked(Instant at, String taskId, String grantId, String by, String reason) implements TaskEvent {
        public GrantRevoked {
            requireNonNull(at, "at");
            requireNonNull(taskId, "taskId");
            requireNonNull(grantId, "grantId");
            requireNonNull(by, "by");
            requireNonNull(reason, "reason");
        }
    }
}
