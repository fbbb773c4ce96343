package dev.toolgate.policy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.identity.SpiffeId;
import dev.toolgate.operation.OperationPattern;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The longest TTL the enforcing documents of a policy allow for one grant ({@link PolicySet#maxTtl}): the largest
 * {@code maxTtl} of the allow rules that hold the grant's operations on its route. Stateless.
 */
final class GrantTtl {
    private GrantTtl() {}

    /**
     * The limit, or null when none applies (a covering rule has no {@code maxTtl}, an operation does not parse) or no
     * rule covers the grant ({@link PolicySet#checkGrant} then refuses it).
     */
    static Duration max(Rules.Doc[] docs, SpiffeId subject, String route, List<String> operations) {
        requireNonNull(subject, "subject");
        requireNonNull(route, "route");
        List<OperationPattern> ops = new ArrayList<>();
        for (String o : operations) {
            try {
                ops.add(OperationPattern.parse(o));
            } catch (IllegalArgumentException | NullPointerException e) {
                return null;
            }
        }
        Duration max = null;
        for (Rules.Doc d : docs) {
            if (d.shadow() || !d.covers(subject)) {
                continue;
            }
            for (Rules.Allow a : d.allow()) {
                if (a.route().equals(route) && a.covers(ops)) {
                    if (a.maxTtl() == null) {
                        return null;
                    }
                    max = max == null || a.maxTtl().compareTo(max) > 0 ? a.maxTtl() : max;
                }
            }
        }
        return max;
    }
}
