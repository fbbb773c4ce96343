package dev.toolgate.grant;

import dev.toolgate.operation.OperationPattern;
import java.time.Duration;
import java.time.Instant;

/**
 * The subset rule of delegation: a child grant must lie within one live grant of its parent task, in every
 * dimension (route, operations, budget, expiry). Stateless.
 */
final class Delegation {
    private Delegation() {}

    /** Whether everything {@code child} allows, {@code parent} allows too (route and operations). */
    static boolean within(Grant child, Grant parent) {
        if (!child.route().equals(parent.route())) {
            return false;
        }
        for (OperationPattern op : child.operations()) {
            if (!withinAny(op, parent)) {
                return false;
            }
        }
        return true;
    }

    private static boolean withinAny(OperationPattern op, Grant parent) {
        for (OperationPattern p : parent.operations()) {
            if (op.within(p)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Checks {@code child} against the live grants of {@code parent} and returns it with its expiry capped at the
     * covering grant's (when the child asked for no TTL of its own).
     *
     * @throws TaskException naming the first dimension in which no parent grant covers it
     */
    static Grant checkWithin(String where, Grant child, boolean explicitTtl, LiveTask parent, long nowMillis)
            throws TaskException {
        LiveGrant[] candidates = parent.grantsFor(child.route());
        String why = "the parent task holds no live grant on route " + child.route();
        for (LiveGrant pg : candidates) {
            if (pg.revoked() || pg.expired(nowMillis)) {
                continue;
            }
            Grant p = pg.grant();
            OperationPattern outside = null;
            for (OperationPattern op : child.operations()) {
                if (!withinAny(op, p)) {
                    outside = op;
                    break;
                }
            }
            if (outside != null) {
                why = "operation \"" + outside + "\" is not within the parent's " + p.id() + " " + p.operations();
                continue;
            }
            if (p.budget() != null) {
                long left = pg.remaining();
                if (child.budget() == null) {
                    why = "budget: unlimited, but the parent's " + p.id() + " has " + left + " calls left";
                    continue;
                }
                if (child.budget() > left) {
                    why = "budget: " + child.budget() + " exceeds the " + left + " calls left on the parent's " + p.id();
                    continue;
                }
            }
            Instant expires = child.expiresAt();
            if (expires.isAfter(p.expiresAt())) {
                if (explicitTtl) {
                    why = "ttl: outlives the parent's " + p.id() + ", which expires in "
                            + GrantChecks.human(Duration.ofMillis(p.expiresAt().toEpochMilli() - nowMillis));
                    continue;
                }
                expires = p.expiresAt();
            }
            if (p.condition() != null) {
                // Conditions conjoin: the child is bound by the parent's condition as well as its own.
                String c = child.condition() == null ? p.condition()
                        : "(" + p.condition() + ") && (" + child.condition() + ")";
                return new Grant(child.id(), child.route(), child.operations(), c, child.budget(), expires);
            }
            return new Grant(child.id(), child.route(), child.operations(), child.condition(), child.budget(),
                    expires);
        }
        throw GrantChecks.invalid(where + ": not within the parent task: " + why);
    }
}
