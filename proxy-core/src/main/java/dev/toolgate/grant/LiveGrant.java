package dev.toolgate.grant;

import dev.toolgate.policy.CallFacts;
import dev.toolgate.policy.Condition;
import dev.toolgate.policy.ConditionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A grant with what changes during its task: revoked or not, calls left. Budgets are spent with a compare-and-set
 * loop, never a lock, and never below zero however many calls race for the last one. Thread-safe.
 */
public final class LiveGrant {
    private final Grant grant;
    private final long expiresAtMillis;
    private final AtomicLong remaining;
    private final Condition condition;
    private final String conditionError;
    private volatile boolean revoked;

    LiveGrant(Grant grant) {
        this.grant = grant;
        this.expiresAtMillis = grant.expiresAt().toEpochMilli();
        this.remaining = grant.budget() == null ? null : new AtomicLong(grant.budget());
        Condition c = null;
        String error = null;
        if (grant.condition() != null) {
            try {
                c = Condition.compile(grant.condition());
            } catch (RuntimeException e) {
                // Checked when the grant was made; a journal from another version could still hold one that no
                // longer compiles: the grant then denies (fail closed) rather than dropping its condition.
                error = e.getMessage();
            }
        }
        this.condition = c;
        this.conditionError = error;
    }

    /**
     * Whether the grant's condition holds for the call ({@code true} without a condition).
     *
     * @throws ConditionException if it cannot be evaluated (the caller denies, fail closed)
     */
    public boolean conditionHolds(CallFacts facts) throws ConditionException {
        if (conditionError != null) {
            throw new ConditionException("condition of " + grant.id() + " does not compile: " + conditionError);
        }
        return condition == null || condition.evaluate(facts);
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

    /** Gives back a call taken by {@link #trySpend()} for a call that was then refused for another reason. */
    public void refund() {
        if (remaining != null) {
            remaining.incrementAndGet();
        }
    }

    /** Calls left, or -1 for no limit. */
    public long remaining() {
        return remaining == null ? -1 : remaining.get();
    }
}
