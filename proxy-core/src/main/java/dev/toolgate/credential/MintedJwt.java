package dev.toolgate.credential;

import java.time.Duration;
import java.time.Instant;

/**
 * One signed task JWT as it is sent ({@code Bearer <jwt>}), with what it was minted for and its lifetime.
 * {@code toString} does not show the token.
 */
record MintedJwt(String headerValue, TaskClaims task, Instant issuedAt, Instant expiresAt) {
    /** A JWT is replaced once less than a third of its lifetime, or less than this, is left. */
    static final Duration MIN_LEFT = Duration.ofSeconds(30);

    /** Whether this JWT may still be sent at {@code now} for {@code claims} instead of minting a new one. */
    boolean reusable(TaskClaims claims, Instant now) {
        if (!task.equals(claims)) {
            return false;
        }
        long leftMillis = expiresAt.toEpochMilli() - now.toEpochMilli();
        long lifetimeMillis = expiresAt.toEpochMilli() - issuedAt.toEpochMilli();
        return leftMillis >= MIN_LEFT.toMillis() && leftMillis * 3 >= lifetimeMillis;
    }

    @Override
    public String toString() {
        return "MintedJwt[task=" + task.taskId() + ", issuedAt=" + issuedAt + ", expiresAt=" + expiresAt + "]";
    }
}
