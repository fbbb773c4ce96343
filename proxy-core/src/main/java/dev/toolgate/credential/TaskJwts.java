package dev.toolgate.credential;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/**
 * Task JWTs per (task, route): minted on first use, reused while they have enough life left, dropped when the task
 * ends. Ended tasks are remembered so nothing is minted for them again.
 *
 * <p>Thread-safe. Two calls that miss at once may both mint; both JWTs are valid and the last one is kept. Time
 * comes from the injected clock only (Caffeine's ticker included).
 */
final class TaskJwts {
    /** Bound on cached JWTs; an evicted one is simply minted again. */
    static final int MAX_CACHED = 100_000;
    /** Bound on remembered ended tasks (one sidecar serves one agent pod, so this is far more than it sees). */
    static final int MAX_ENDED = 100_000;
    /**
     * An ended task is remembered for this long, or until its expiry if a JWT minted for it (or a later call) told
     * that and it is later.
     */
    static final Duration ENDED_UNKNOWN_EXPIRY = Duration.ofHours(24);

    private final JwtMinter minter;
    private final Clock clock;
    private final Cache<Key, MintedJwt> minted;
    /** task id -> remember until (the task's expiry, as far as known). */
    private final Cache<String, Instant> ended;

    TaskJwts(JwtMinter minter, Clock clock) {
        this.minter = minter;
        this.clock = clock;
        Ticker ticker = () -> {
            Instant now = clock.instant();
            return now.getEpochSecond() * 1_000_000_000L + now.getNano();
        };
        this.minted = Caffeine.newBuilder()
                .executor(Runnable::run)
                .ticker(ticker)
                .maximumSize(MAX_CACHED)
                .expireAfter(Expiry.writing((Key k, MintedJwt m) -> until(m.expiresAt())))
                .build();
        this.ended = Caffeine.newBuilder()
                .executor(Runnable::run)
                .ticker(ticker)
                .maximumSize(MAX_ENDED)
                .expireAfter(Expiry.writing((String id, Instant until) -> until(until)))
                .build();
    }

    /**
     * The header value ({@code Bearer <jwt>}) for a call of {@code task} on {@code route}: the cached JWT while it
     * has at least a third of its lifetime and 30 s left, else a new one expiring at {@code now + ttl} or at the
     * task's expiry, whichever is first.
     *
     * @throws CredentialException if the task ended or expired (or expires within the second), or signing failed
     */
    String bearer(String route, String audience, Duration ttl, TaskClaims task) throws CredentialException {
        String taskId = task.taskId();
        checkNotEnded(route, task);
        Instant now = clock.instant();
        if (!now.isBefore(task.expiresAt())) {
            throw new CredentialException("route " + route + ": task " + taskId + " expired at " + task.expiresAt());
        }
        Key key = new Key(taskId, route, audience);
        MintedJwt cached = minted.getIfPresent(key);
        if (cached != null && cached.reusable(task, now)) {
            return cached.headerValue();
        }
        Instant cap = now.plus(ttl);
        Instant expiresAt = (cap.isBefore(task.expiresAt()) ? cap : task.expiresAt()).truncatedTo(ChronoUnit.SECONDS);
        if (!expiresAt.isAfter(now)) {
            throw new CredentialException("route " + route + ": task " + taskId + " expires at " + task.expiresAt()
                    + ", too soon for a credential");
        }
        MintedJwt fresh = minter.mint(route, task, audience, now.truncatedTo(ChronoUnit.SECONDS), expiresAt);
        minted.put(key, fresh);
        // taskEnded may have run while this JWT was signed: it must neither stay cached nor be sent.
        if (ended.getIfPresent(taskId) != null) {
            minted.invalidate(key);
            throw endedException(route, taskId);
        }
        return fresh.headerValue();
    }

    /** Drops every JWT cached for {@code taskId} and refuses to mint for it from now on. */
    void taskEnded(String taskId) {
        // Record the end first, so a concurrent bearer() either sees it or has its JWT removed below.
        ended.asMap().merge(taskId, clock.instant().plus(ENDED_UNKNOWN_EXPIRY), TaskJwts::later);
        Instant knownExpiry = null;
        for (Map.Entry<Key, MintedJwt> e : minted.asMap().entrySet()) {
            if (e.getKey().taskId().equals(taskId)) {
                Instant exp = e.getValue().task().expiresAt();
                knownExpiry = knownExpiry == null || exp.isAfter(knownExpiry) ? exp : knownExpiry;
                minted.invalidate(e.getKey());
            }
        }
        if (knownExpiry != null) {
            ended.asMap().merge(taskId, knownExpiry, TaskJwts::later);
        }
    }

    private void checkNotEnded(String route, TaskClaims task) throws CredentialException {
        Instant until = ended.getIfPresent(task.taskId());
        if (until != null) {
            if (task.expiresAt().isAfter(until)) {
                // Remember it for as long as callers still present it as live.
                ended.asMap().merge(task.taskId(), task.expiresAt(), TaskJwts::later);
            }
            throw endedException(route, task.taskId());
        }
    }

    private static CredentialException endedException(String route, String taskId) {
        return new CredentialException("route " + route + ": task " + taskId + " has ended; no credential is minted for it");
    }

    private static Instant later(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    private Duration until(Instant instant) {
        Duration d = Duration.between(clock.instant(), instant);
        return d.isNegative() ? Duration.ZERO : d;
    }

    /** Cache key: one JWT per task, route and audience (a reloaded route may name another audience). */
    private record Key(String taskId, String route, String audience) {}
}
