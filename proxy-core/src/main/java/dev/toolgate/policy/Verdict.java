package dev.toolgate.policy;

/**
 * What the policy says about a grant request ({@link PolicySet#checkGrant}) or a call ({@link PolicySet#evaluate}).
 *
 * <p>{@code allow} false with {@code shadow} false: deny. {@code allow} false with {@code shadow} true: only
 * documents in shadow mode would deny; the caller forwards the call (or grants the request) and audits a
 * {@code would_deny} with {@code code} and {@code reason}. A caller that looks at {@code allow} alone fails closed.
 *
 * @param allow            whether the policy allows it
 * @param code             null when allowed, else {@link #DENY_POLICY}, {@link #DENY_FLOW}, {@link #DENY_CONDITION} or
 *                         (shadow only) {@link #ERROR_FAIL_CLOSED}
 * @param reason           why it is denied, for the agent and the audit record; null when allowed
 * @param rule             the rule that decided ({@code document/rule}) for the audit {@code policy} field, or null
 * @param shadow           the denial comes from shadow-mode documents only: forward and audit as would-deny
 * @param approvalRequired the allowing rule asks for a person's approval of each call ({@code approval: required})
 * @param rate             the allowing rule's rate limit per task, or null
 */
public record Verdict(boolean allow, String code, String reason, String rule, boolean shadow,
                      boolean approvalRequired, RateSpec rate) {
    public static final String DENY_POLICY = "DENY_POLICY";
    public static final String DENY_FLOW = "DENY_FLOW";
    public static final String DENY_CONDITION = "DENY_CONDITION";
    public static final String ERROR_FAIL_CLOSED = "ERROR_FAIL_CLOSED";

    /** The verdict of {@link PolicySet#unrestricted()}: allowed, no rule. */
    static final Verdict UNRESTRICTED = new Verdict(true, null, null, null, false, false, null);

    /** @throws IllegalArgumentException for an inconsistent combination */
    public Verdict {
        if (allow == (code != null) || !allow && reason == null) {
            throw new IllegalArgumentException("code: " + code + ", reason: " + reason
                    + " (expected: both null when allowed, both set when denied)");
        }
        if (shadow && allow) {
            throw new IllegalArgumentException("shadow: true (expected: only on a denial)");
        }
    }

    static Verdict allowed(String rule, boolean approvalRequired, RateSpec rate) {
        return new Verdict(true, null, null, rule, false, approvalRequired, rate);
    }

    static Verdict denied(String code, String reason, String rule) {
        return new Verdict(false, code, reason, rule, false, false, null);
    }

    Verdict asShadow() {
        return new Verdict(false, code, reason, rule, true, false, null);
    }

    /** Whether the call goes on: allowed, or denied by shadow-mode documents only. */
    public boolean forwards() {
        return allow || shadow;
    }
}
