package dev.toolgate.policy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.common.DecisionCode;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.operation.OperationPattern;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The security team's policy in force: a set of compiled policy documents, and the two questions asked of it —
 * may this grant be given ({@link #checkGrant}, at task start) and does policy still allow this call
 * ({@link #evaluate}, on every call, so tightening a policy narrows live grants at once).
 *
 * <p>Semantics:
 * <ul>
 * <li>A document applies to a subject (SPIFFE ID) matched by one of its {@code subjects}.</li>
 * <li>Default deny: a subject no document applies to may be granted nothing and call nothing. A set made from no
 *     documents at all ({@link #empty()}) therefore denies everything, and so does a sidecar with no policy
 *     configured ({@link #none}, whose refusals say so). Only a sidecar that opted out for a local experiment uses
 *     {@link #unrestricted()}, where grants and routes alone limit an agent.</li>
 * <li>Deny rules win over allow rules; flow rules deny a call to a route with a label in {@code deny} once the
 *     task touched a route with a label in {@code after}; otherwise some allow rule must match the route and
 *     operation and its {@code when} must hold.</li>
 * <li>Documents in {@code shadow} mode never block: their would-be denial is reported in the {@link Verdict}
 *     ({@code shadow = true}) for the caller to audit, and the call goes on. What shadow documents would decide is
 *     judged on the enforcing and shadow documents together (as if the shadow ones were enforced); a subject only
 *     shadow documents apply to is limited by its grants alone while they are in shadow mode, and their
 *     approval and rate settings do not apply.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe; pure (no I/O, no clock: time comes with the {@link CallFacts}). A call is decided
 * over the rules of the documents that cover its agent, indexed by route ({@code SubjectRules}), which the set works
 * out on the agent's first call and keeps (for up to {@value #MAX_SUBJECTS} agents): a decision reads the rules of
 * its route, not every rule of every document.
 */
public final class PolicySet {
    private static final PolicySet EMPTY = new PolicySet(new Rules.Doc[0], PolicyYaml.version(List.of()), false, null,
            null);
    private static final PolicySet UNRESTRICTED = new PolicySet(new Rules.Doc[0], "unrestricted", true, null, null);

    private final Rules.Doc[] docs;
    private final String version;
    private final boolean unrestricted;
    /** Why there are no documents at all ({@link #none}); null for a set made from documents. */
    private final String missing;
    /** Null except in a set made by {@link #traced} (policy explain). */
    private final PolicyTrace trace;
    private final ConcurrentHashMap<SpiffeId, SubjectRules> subjects = new ConcurrentHashMap<>();

    private PolicySet(Rules.Doc[] docs, String version, boolean unrestricted, String missing, PolicyTrace trace) {
        this.docs = docs;
        this.version = version;
        this.unrestricted = unrestricted;
        this.missing = missing;
        this.trace = trace;
    }

    /**
     * No policy loaded at all: like {@link #empty()}, every grant and every call is denied ({@code DENY_POLICY}), and
     * the denial's reason is {@code why} (it names what is missing and how to supply it). What a sidecar whose
     * configuration names no policy files uses unless it opted out ({@link #unrestricted()}); version {@code none}.
     *
     * @throws NullPointerException if {@code why} is null
     */
    public static PolicySet none(String why) {
        return new PolicySet(new Rules.Doc[0], "none", false, requireNonNull(why, "why"), null);
    }

    /**
     * The same documents and decisions, telling {@code trace} what each call's evaluation looked at (for
     * {@code toolgate policy explain}; a sidecar never uses one).
     */
    public PolicySet traced(PolicyTrace trace) {
        return new PolicySet(docs, version, unrestricted, missing, requireNonNull(trace, "trace"));
    }

    static PolicySet of(List<Rules.Doc> docs, String version) {
        return new PolicySet(docs.toArray(new Rules.Doc[0]), version, false, null, null);
    }

    /** No documents: every grant and every call is denied (default deny). */
    public static PolicySet empty() {
        return EMPTY;
    }

    /**
     * No policy configured: every grant and call the routes and grants allow is allowed. For sidecars whose
     * configuration names no policy files; once any are named, an empty set is {@link #empty()}, not this.
     */
    public static PolicySet unrestricted() {
        return UNRESTRICTED;
    }

    /**
     * First 12 hex digits of SHA-256 over the canonical documents (so comments and layout do not change it), or
     * {@code unrestricted}; recorded with every decision.
     */
    public String version() {
        return version;
    }

    /** The document names, sorted. */
    public List<String> documents() {
        List<String> names = new ArrayList<>(docs.length);
        for (Rules.Doc d : docs) {
            names.add(d.name());
        }
        return List.copyOf(names);
    }

    /**
     * Every rule's id ({@code document/rule}, as decisions name it without the version): documents in name order,
     * each document's allow, deny and flow rules as written. For tools that report which rules were exercised.
     */
    public List<String> rules() {
        return Rules.ids(docs);
    }

    /** The compiled documents, in name order (for the linter in this package). */
    List<Rules.Doc> docs() {
        return List.of(docs);
    }

    public boolean isUnrestricted() {
        return unrestricted;
    }

    /**
     * Whether {@code subject} may be granted {@code operations} on {@code route} for {@code ttl} with
     * {@code budget} calls.
     *
     * <p>Allowed when one allow rule of a document that applies to the subject has the route, holds every operation
     * ({@link OperationPattern#within}), has no {@code maxTtl} or one not shorter than {@code ttl}, and has no
     * {@code budget} or one not smaller than {@code budget} (a grant without a budget needs a rule without one),
     * and no unconditional deny rule holds any of the operations whole. An operation a deny rule covers only in
     * part (a grant of {@code mcp:tools/call:*} where {@code delete_repo} is denied) is granted; the call is then
     * denied by {@link #evaluate}. The rule's {@code when} is for calls and is not judged here.
     *
     * @param operations the grant's operation patterns ({@link OperationPattern} syntax)
     * @param budget     the grant's call budget, or null for none
     * @return the verdict; when allowed, {@code rule} names the allow rule
     */
    public Verdict checkGrant(SpiffeId subject, String route, List<String> operations, Duration ttl, Long budget) {
        requireNonNull(subject, "subject");
        requireNonNull(route, "route");
        requireNonNull(operations, "operations");
        requireNonNull(ttl, "ttl");
        if (unrestricted) {
            return Verdict.UNRESTRICTED;
        }
        if (operations.isEmpty()) {
            return Verdict.denied(DecisionCode.DENY_POLICY, "a grant needs at least one operation", null);
        }
        List<OperationPattern> ops = new ArrayList<>(operations.size());
        for (String o : operations) {
            try {
                ops.add(OperationPattern.parse(o));
            } catch (IllegalArgumentException | NullPointerException e) {
                return Verdict.denied(DecisionCode.DENY_POLICY, String.valueOf(e.getMessage()), null);
            }
        }
        boolean[] covered = new boolean[docs.length];
        int coverage = coverage(subject, covered);
        Verdict enforced = (coverage & ENFORCED) != 0
                ? grantVerdict(subject, route, ops, ttl, budget, covered, false) : null;
        if (enforced != null && !enforced.allow()) {
            return enforced;
        }
        if ((coverage & SHADOWED) != 0) {
            Verdict would = grantVerdict(subject, route, ops, ttl, budget, covered, true);
            if (!would.allow()) {
                return would.asShadow();
            }
            if (enforced == null) {
                return Verdict.allowed(would.rule(), false, null);
            }
        }
        return enforced != null ? enforced : uncovered(subject);
    }

    /**
     * The longest TTL enforcing documents allow for such a grant: the largest {@code maxTtl} of the allow rules that
     * hold the operations on the route. Null when no policy limit applies (unrestricted, or a covering rule has no
     * {@code maxTtl}) or no rule covers the grant ({@link #checkGrant} then refuses it). For capping a requested TTL
     * before {@code checkGrant}.
     */
    public Duration maxTtl(SpiffeId subject, String route, List<String> operations) {
        return unrestricted ? null : GrantTtl.max(docs, subject, route, operations);
    }

    private Verdict grantVerdict(SpiffeId subject, String route, List<OperationPattern> ops, Duration ttl, Long budget,
                                 boolean[] covered, boolean withShadow) {
        for (int i = 0; i < docs.length; i++) {
            if (!covered[i] || docs[i].shadow() && !withShadow) {
                continue;
            }
            for (Rules.Deny d : docs[i].deny()) {
                if (d.when() != null || !d.appliesTo(route)) {
                    continue;
                }
                for (OperationPattern op : ops) {
                    if (Rules.anyContains(d.operations(), op)) {
                        return Verdict.denied(DecisionCode.DENY_POLICY, "operation " + op + " on route " + route
                                + " is denied: " + d.reason(), d.id());
                    }
                }
            }
        }
        String miss = null;
        String missRule = null;
        for (int i = 0; i < docs.length; i++) {
            if (!covered[i] || docs[i].shadow() && !withShadow) {
                continue;
            }
            for (Rules.Allow a : docs[i].allow()) {
                if (!a.route().equals(route) || !a.covers(ops)) {
                    continue;
                }
                if (a.maxTtl() != null && ttl.compareTo(a.maxTtl()) > 0) {
                    miss = "ttl " + ttl + " is longer than maxTtl " + a.maxTtl() + " of rule " + a.id();
                    missRule = a.id();
                    continue;
                }
                if (a.budget() != null && (budget == null || budget > a.budget())) {
                    miss = "budget " + (budget == null ? "unlimited" : budget) + " is more than budget "
                            + a.budget() + " of rule " + a.id();
                    missRule = a.id();
                    continue;
                }
                return Verdict.allowed(a.id(), a.approval(), a.rate());
            }
        }
        if (miss != null) {
            return Verdict.denied(DecisionCode.DENY_POLICY, miss, missRule);
        }
        return Verdict.denied(DecisionCode.DENY_POLICY, "operations " + ops + " on route " + route
                + " are outside every allow rule of policy for " + subject.uri(), null);
    }

    /**
     * The verdict of the current policy for one call: deny rules first (deny wins), then flow rules over the task's
     * history, then some allow rule must match the route and operation with its {@code when} holding.
     *
     * @return the verdict; {@code code} {@code DENY_POLICY} (a deny rule, no allow rule, or no document for the
     *     agent), {@code DENY_FLOW} or {@code DENY_CONDITION} (an allow rule matched but its {@code when} did not
     *     hold); for shadow-only denials also {@code ERROR_FAIL_CLOSED}
     * @throws ConditionException if a condition of an enforcing document cannot be evaluated: the caller denies the
     *     call with {@code ERROR_FAIL_CLOSED}
     */
    public Verdict evaluate(CallFacts facts) throws ConditionException {
        requireNonNull(facts, "facts");
        if (unrestricted) {
            return Verdict.UNRESTRICTED;
        }
        SubjectRules subject = rulesFor(facts.agent());
        int coverage = subject.modes();
        Activation activation = new Activation(facts);
        RuleTrace.call(trace, activation);
        Verdict enforced = (coverage & ENFORCED) != 0 ? callVerdict(activation, subject.view(false), false) : null;
        if (enforced != null && !enforced.allow()) {
            return enforced;
        }
        if ((coverage & SHADOWED) != 0) {
            Verdict would;
            try {
                would = callVerdict(activation, subject.view(true), true);
            } catch (ConditionException e) {
                would = Verdict.denied(DecisionCode.ERROR_FAIL_CLOSED, e.getMessage(), null);
            }
            if (!would.allow()) {
                return would.asShadow();
            }
            if (enforced == null) {
                return Verdict.allowed(would.rule(), false, null);
            }
        }
        return enforced != null ? enforced : uncovered(facts.agent());
    }

    /**
     * The rules that apply to {@code agent}, indexed by route: worked out on the agent's first call and kept for the
     * next ones (a sidecar serves few agents; past {@link #MAX_SUBJECTS} distinct ones, the rest are worked out on
     * every call, which is slower but decides the same).
     */
    private SubjectRules rulesFor(SpiffeId agent) {
        SubjectRules r = subjects.get(agent);
        if (r == null) {
            r = SubjectRules.of(docs, agent);
            if (subjects.size() < MAX_SUBJECTS) {
                subjects.putIfAbsent(agent, r);
            }
        }
        return r;
    }

    private Verdict callVerdict(Activation a, SubjectRules.View rules, boolean withShadow) throws ConditionException {
        CallFacts f = a.facts;
        String route = f.route();
        String op = f.operation();
        for (Rules.Deny d : rules.denies(route)) {
            if (d.matches(op) && RuleTrace.holds(trace, a, d.id(), "deny", d.when(), withShadow)) {
                return Verdict.denied(DecisionCode.DENY_POLICY, d.reason(), d.id());
            }
        }
        Set<String> history = f.taskLabels();
        Set<String> here = f.routeLabels();
        if (history != null && !history.isEmpty() && here != null && !here.isEmpty()) {
            for (Rules.Flow fl : rules.flows()) {
                if (intersects(fl.after(), history) && intersects(fl.deny(), here)) {
                    RuleTrace.flow(trace, fl.id(), withShadow);
                    return Verdict.denied(DecisionCode.DENY_FLOW, fl.reason(), fl.id());
                }
            }
        }
        Rules.Allow unmet = null;
        for (Rules.Allow r : rules.allows(route)) {
            if (!r.matches(op)) {
                continue;
            }
            if (RuleTrace.holds(trace, a, r.id(), "allow", r.when(), withShadow)) {
                return Verdict.allowed(r.id(), r.approval(), r.rate());
            }
            if (unmet == null) {
                unmet = r;
            }
        }
        if (unmet != null) {
            return Verdict.denied(DecisionCode.DENY_CONDITION, "the condition of rule " + unmet.id()
                    + " does not hold: " + unmet.when().expression(), unmet.id());
        }
        return Verdict.denied(DecisionCode.DENY_POLICY, "no allow rule of policy for " + f.agent().uri() + " covers "
                + shorten(op) + " on route " + route, null);
    }

    private static final int ENFORCED = SubjectRules.ENFORCED;
    private static final int SHADOWED = SubjectRules.SHADOWED;
    /** Agents whose rules a set keeps worked out ({@link #rulesFor}). */
    static final int MAX_SUBJECTS = 4096;

    /** Marks the documents that apply to {@code id}; returns which modes among them ({@link #ENFORCED} etc.). */
    private int coverage(SpiffeId id, boolean[] covered) {
        int modes = 0;
        for (int i = 0; i < docs.length; i++) {
            if (docs[i].covers(id)) {
                covered[i] = true;
                modes |= docs[i].shadow() ? SHADOWED : ENFORCED;
            }
        }
        return modes;
    }

    private Verdict uncovered(SpiffeId subject) {
        if (missing != null) {
            return Verdict.denied(DecisionCode.DENY_POLICY, missing, null);
        }
        return Verdict.denied(DecisionCode.DENY_POLICY, "no policy document applies to " + subject.uri(), null);
    }

    private static boolean intersects(Set<String> a, Set<String> b) {
        for (String s : a) {
            if (b.contains(s)) {
                return true;
            }
        }
        return false;
    }

    /** Operations may carry agent-chosen text (tool names, URIs): keep reasons short and printable. */
    private static String shorten(String s) {
        if (s == null) {
            return "(no operation)";
        }
        StringBuilder b = new StringBuilder(Math.min(s.length(), 200));
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return s.length() > 200 ? b.append("...").toString() : b.toString();
    }

    @Override
    public String toString() {
        return "PolicySet[version=" + version + ", documents=" + documents() + "]";
    }
}
