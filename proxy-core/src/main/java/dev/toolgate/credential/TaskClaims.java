package dev.toolgate.credential;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * What a minted credential says about the task it was minted for. It holds no token: the task token stays with the
 * data plane, and this value may be logged.
 *
 * @param taskId    the task's id ({@code task_id} claim)
 * @param subject   the agent's SPIFFE ID URI ({@code sub} claim)
 * @param purpose   the task's stated intent, free text ({@code purpose} claim; may be empty)
 * @param expiresAt the task's expiry; no credential minted for it outlives it
 * @throws NullPointerException     if a component is null
 * @throws IllegalArgumentException if {@code taskId} or {@code subject} is empty
 */
public record TaskClaims(String taskId, String subject, String purpose, Instant expiresAt) {
    public TaskClaims {
        requireNonNull(taskId, "taskId");
        requireNonNull(subject, "subject");
        requireNonNull(purpose, "purpose");
        requireNonNull(expiresAt, "expiresAt");
        if (taskId.isEmpty()) {
            throw new IllegalArgumentException("taskId: \"\" (expected: a task id)");
        }
        if (subject.isEmpty()) {
            throw new IllegalArgumentException("subject: \"\" (expected: the agent's SPIFFE ID)");
        }
    }
}
