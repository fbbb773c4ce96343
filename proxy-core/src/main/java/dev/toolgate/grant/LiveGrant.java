package dev.toolgate.grant;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A grant with what changes during its task: revoked or not, calls left. Budgets are spent with a compare-and-set
 * loop, never a lock, and never below zero however many calls race for the last one. Thread-safe.
 */
public final class LiveGrant {
    private final Grant grant;
    private final long expiresAtMillis;
    private final AtomicLong remaining;
    private volatile boolean revoked;

    LiveGrant(Grant grant) {
        this.grant = grant;
        this.expiresAtMillis = grant.expiresAt().toEpochMilli();
        this.remaining = grant.budget() == null ? null : new AtomicLong(grant.budget());
    }

    public Grant grant() {
        return grant;
    }

    public boolean revoked() {
        return revoked;
    }

    void revoke() {
        revoked = true;
    }

    /** Whether its expiry has passed at {@code nowMillis}. */
    public boolean expired(long nowMillis) {
        return nowMillis >= expiresAtMillis;
    }

    /** Takes one call from the budget; false when none is left. A grant without a budget always has one. */
    public boolean trySpend() {
        if (remaining == null) {
            return true;
        }
        long r;
        do {
            r = remaining.get();
            if (r <= 0) {
                return false;
            }
        } while (!remaining.compareAndSet(r, r - 1));
        return true;
    }

    /** Calls left, or -1 for no limit. */
    public long remaining() {
        return remaining == null ? -1 : remaining.get();
    }
}
