package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import dev.toolgate.identity.SpiffeId;
import java.time.Instant;
import java.util.List;

/**
 * A task as started: who it is for, why, what it may do and until when. Immutable: what changes later (its state,
 * revoked grants, spent budget) lives in {@link LiveTask}.
 *
 * @param id        task id ({@code t-} and 24 hex digits); safe to log and audit
 * @param subject   the agent whose calls the task authorizes (its token works over this identity only)
 * @param startedBy who asked for it (the subject itself, an orchestrator, or the parent's subject)
 * @param purpose   the stated intent
 * @param parentId  the task it was delegated from, or null
 * @param depth     0 for a task started directly, parent's depth + 1 for a delegated one
 * @param grants    its grants
 * @param createdAt when it started
 * @param expiresAt when it expires
 * @param tokenHash SHA-256 (hex) of its token; the token itself is never kept
 */
public record Task(String id, SpiffeId subject, SpiffeId startedBy, String purpose, String parentId, int depth,
                   List<Grant> grants, Instant createdAt, Instant expiresAt, String tokenHash) {
    public Task {
        requireNonNull(id, "id");
        requireNonNull(subject, "subject");
        requireNonNull(startedBy, "startedBy");
        requireNonNull(purpose, "purpose");
        grants = List.copyOf(grants);
        requireNonNull(createdAt, "createdAt");
        requireNonNull(expiresAt, "expiresAt");
        requireNonNull(tokenHash, "tokenHash");
    }

    /** The grant with this id, or null. */
    public Grant grant(String grantId) {
        for (Grant g : grants) {
            if (g.id().equals(grantId)) {
                return g;
            }
        }
        return null;
    }
}
