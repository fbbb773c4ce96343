package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import dev.toolgate.identity.SpiffeId;
import dev.toolgate.operation.OperationPattern;
import dev.toolgate.policy.Condition;
import dev.toolgate.policy.PolicySet;
import dev.toolgate.policy.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What may be granted: the checks a StartTask or DelegateTask request passes before anything is recorded. Grants
 * must name routes the sidecar has (those of the last {@link #updateRoutes}), carry well-formed operations and
 * conditions that compile, stay within the configured lifetimes and the task's, lie within the policy in force
 * ({@link PolicySet#checkGrant}) and, for a delegated task, within a live grant of the parent ({@link Delegation}).
 *
 * <p>Thread-safe: the route set is replaced whole (volatile) and the policy is read once per request. Every refusal
 * is a {@link TaskException} of kind {@code INVALID_ARGUMENT} whose message names the field and what was expected.
 */
final class GrantChecks {
    private static final int MAX_GRANTS = 64;
    private static final int MAX_OPERATIONS = 64;
    private static final int MAX_PURPOSE_CHARS = 1024;

    private final Duration defaultTtl;
    private final Duration maxTtl;
    private final int maxDelegationDepth;
    private final Supplier<PolicySet> policy;
    /** The route names grants may name now; replaced whole when the routes are reloaded. */
    private volatile Set<String> routes;

    GrantChecks(Duration defaultTtl, Duration maxTtl, int maxDelegationDepth, Set<String> routes,
                Supplier<PolicySet> policy) {
        this.defaultTtl = requireNonNull(defaultTtl, "defaultTtl");
        this.maxTtl = requireNonNull(maxTtl, "maxTtl");
        this.maxDelegationDepth = maxDelegationDepth;
        this.routes = Set.copyOf(requireNonNull(routes, "routes"));
        this.policy = requireNonNull(policy, "policy");
    }

    void updateRoutes(Set<String> routeNames) {
        routes = Set.copyOf(requireNonNull(routeNames, "routeNames"));
    }

    PolicySet policy() {
        return policy.get();
    }

    /** The expiry of a task started at {@code now} that asked for {@code ttl} (null: the default). */
    Instant startExpiry(Instant now, Duration requested) throws TaskException {
        Duration ttl = requested == null ? defaultTtl : requested;
        if (ttl.isNegative() || ttl.isZero()) {
            throw invalid("ttl: " + ttl + " (expected: > 0)");
        }
        if (ttl.compareTo(maxTtl) > 0) {
            throw invalid("ttl: " + human(ttl) + " is longer than the maximum task lifetime " + human(maxTtl));
        }
        return now.plus(ttl);
    }

    /**
     * The expiry of a task delegated from {@code parent} at {@code now}: the default capped at the parent's expiry,
     * or the asked-for {@code ttl}, which must not outlive the parent. Checks the delegation depth too.
     */
    Instant delegateExpiry(Instant now, Duration requested, Task parent) throws TaskException {
        if (parent.depth() + 1 > maxDelegationDepth) {
            throw invalid("delegation depth " + (parent.depth() + 1) + " exceeds the maximum " + maxDelegationDepth);
        }
        if (requested == null) {
            Instant wanted = now.plus(defaultTtl);
            return wanted.isAfter(parent.expiresAt()) ? parent.expiresAt() : wanted;
        }
        if (requested.isNegative() || requested.isZero()) {
            throw invalid("ttl: " + requested + " (expected: > 0)");
        }
        Instant expires = now.plus(requested);
        if (expires.isAfter(parent.expiresAt())) {
            throw invalid("ttl: " + human(requested) + " outlives the parent task, which expires in "
                    + human(Duration.between(now, parent.expiresAt())));
        }
        return expires;
    }

    /**
     * The grants {@code subject} gets for {@code requested}, numbered {@code g1}, {@code g2}, ...; for a delegated
     * task ({@code parent} not null) each within a live grant of the parent, its expiry capped at that grant's.
     */
    List<Grant> grants(SpiffeId subject, List<GrantRequest> requested, Instant now, Instant taskExpiry,
                       LiveTask parent) throws TaskException {
        PolicySet rules = policy.get();
        Set<String> known = routes; // one route set for the whole request, even if the routes are reloaded meanwhile
        if (requested.isEmpty()) {
            throw invalid("grants: none (expected: at least one grant)");
        }
        if (requested.size() > MAX_GRANTS) {
            throw invalid("grants: " + requested.size() + " (expected: at most " + MAX_GRANTS + ")");
        }
        List<Grant> out = new ArrayList<>(requested.size());
        for (int i = 0; i < requested.size(); i++) {
            GrantRequest r = requested.get(i);
            String where = "grants[" + i + "]";
            if (r.route() == null || !known.contains(r.route())) {
                throw invalid(where + ".route: " + quote(r.route()) + " (expected: one of the sidecar's routes "
                        + known.stream().sorted().toList() + ")");
            }
            List<OperationPattern> ops = operations(where, r.operations());
            if (r.condition() != null) {
                try {
                    Condition.compile(r.condition());
                } catch (IllegalArgumentException e) {
                    throw invalid(where + ".when: " + e.getMessage());
                }
            }
            if (r.budget() != null && r.budget() < 1) {
                throw invalid(where + ".budget: " + r.budget() + " (expected: >= 1)");
            }
            Instant expires = grantExpiry(where, r.ttl(), now, taskExpiry);
            Verdict v = rules.checkGrant(subject, r.route(), r.operations(), Duration.between(now, expires),
                    r.budget());
            if (!v.forwards()) {
                throw invalid(where + ": outside policy: " + v.reason() + (v.rule() == null ? "" : " (" + v.rule()
                        + ")"));
            }
            Grant g = new Grant("g" + (i + 1), r.route(), ops, r.condition(), r.budget(), expires);
            if (parent != null) {
                g = Delegation.checkWithin(where, g, r.ttl() != null, parent, now.toEpochMilli());
            }
            out.add(g);
        }
        return out;
    }

    private static List<OperationPattern> operations(String where, List<String> texts) throws TaskException {
        if (texts.isEmpty() || texts.size() > MAX_OPERATIONS) {
            throw invalid(where + ".operations: " + texts.size() + " (expected: 1 to " + MAX_OPERATIONS + ")");
        }
        List<OperationPattern> ops = new ArrayList<>(texts.size());
        for (String op : texts) {
            try {
                ops.add(OperationPattern.parse(op));
            } catch (IllegalArgumentException e) {
                throw invalid(where + ": " + e.getMessage());
            }
        }
        return ops;
    }

    private static Instant grantExpiry(String where, Duration ttl, Instant now, Instant taskExpiry)
            throws TaskException {
        if (ttl == null) {
            return taskExpiry;
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw invalid(where + ".ttl: " + ttl + " (expected: > 0)");
        }
        Instant expires = now.plus(ttl);
        if (expires.isAfter(taskExpiry)) {
            throw invalid(where + ".ttl: " + human(ttl) + " outlives its task ("
                    + human(Duration.between(now, taskExpiry)) + ")");
        }
        return expires;
    }

    /** The stated purpose, checked: present, one line, not too long. */
    static String purpose(String purpose) throws TaskException {
        if (purpose == null || purpose.isBlank()) {
            throw invalid("purpose: missing (expected: what the task is for, in words; it is audited with every"
                    + " call)");
        }
        if (purpose.length() > MAX_PURPOSE_CHARS) {
            throw invalid("purpose: " + purpose.length() + " characters (expected: at most " + MAX_PURPOSE_CHARS
                    + ")");
        }
        if (purpose.chars().anyMatch(Character::isISOControl)) {
            throw invalid("purpose: contains control characters (expected: one line of text)");
        }
        return purpose;
    }

    /** A reason for an end or revocation made fit for the audit trail: one line, bounded, never null. */
    static String reason(String reason) {
        if (reason == null) {
            return "";
        }
        String oneLine = reason.replaceAll("\\p{Cntrl}", " ");
        return oneLine.length() > MAX_PURPOSE_CHARS ? oneLine.substring(0, MAX_PURPOSE_CHARS) : oneLine;
    }

    static TaskException invalid(String message) {
        return new TaskException(TaskException.Kind.INVALID_ARGUMENT, message);
    }

    static String human(Duration d) {
        return d.toString().substring(2).toLowerCase(Locale.ROOT);
    }

    private static String quote(String s) {
        return s == null ? "null" : '"' + s + '"';
    }
}
