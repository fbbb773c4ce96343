package dev.toolgate.policy;

import dev.toolgate.common.DecisionCode;
import java.util.Set;

/**
 * What the policy says about a grant request ({@link PolicySet#checkGrant}) or a call ({@link PolicySet#evaluate}).
 *
 * <p>{@code allow} false with {@code shadow} false: deny. {@code allow} false with {@code shadow} true: only
 * documents in shadow mode would deny; the caller forwards the call (or grants the request) and audits a
 * {@code would_deny} with {@code code} and {@code reason}. A caller that looks at {@code allow} alone fails closed.
 *
 * @param allow            whether the policy allows it
 * @param code             null when allowed, else {@link DecisionCode#DENY_POLICY}, {@link DecisionCode#DENY_FLOW},
 *                         {@link DecisionCode#DENY_CONDITION} or (shadow only) {@link DecisionCode#ERROR_FAIL_CLOSED}
 * @param reason           why it is denied, for the agent and the audit record; null when allowed
 * @param rule             the rule that decided ({@code document/rule}) for the audit {@code policy} field, or null
 * @param shadow           the denial comes from shadow-mode documents only: forward and audit as would-deny
 * @param approvalRequired the allowing rule asks for a person's approval of each call ({@code approval: required})
 * @param rate             the allowing rule's rate limit per task, or null
 */
public record Verdict(boolean allow, DecisionCode code, String reason, String rule, boolean shadow,
                      boolean approvalRequired, RateSpec rate) {
    /** The codes a policy denies with; the others are the authorizer's and admission's own. */
    private static final Set<DecisionCode> POLICY_CODES = Set.of(DecisionCode.DENY_POLICY, DecisionCode.DENY_FLOW,
            DecisionCode.DENY_CONDITION, DecisionCode.ERROR_FAIL_CLOSED);

    /** The verdict of {@link PolicySet#unrestricted()}: allowed, no rule. */
    static final Verdict UNRESTRICTED = new Verdict(true, null, null, null, false, false, null);

    /** @throws IllegalArgumentException for an inconsistent combination */
    public Verdict {
        if (allow == (code != null) || !allow && reason == null) {
            throw new IllegalArgumentException("code: " + code + ", reason: " + reason
                    + " (expected: both null when allowed, both set when denied)");
        }
        if (code != null && !POLICY_CODES.contains(code)) {
            throw new IllegalArgumentException("code: " + code
                    + " (expected: DENY_POLICY, DENY_FLOW, DENY_CONDITION or ERROR_FAIL_CLOSED)");
        }
        if (shadow && allow) {
            throw new IllegalArgumentException("shadow: true (expected: only on a denial)");
        }
    }

    static Verdict allowed(String rule, boolean approvalRequired, RateSpec rate) {
        return new Verdict(true, null, null, rule, false, approvalRequired, rate);
    }

    static Verdict denied(DecisionCode code, String reason, String rule) {
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
