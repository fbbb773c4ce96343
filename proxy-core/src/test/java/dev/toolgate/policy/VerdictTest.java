package dev.toolgate.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.common.DecisionCode;
import org.junit.jupiter.api.Test;

class VerdictTest {
    @Test
    void aDenialCarriesOneOfThePolicysOwnCodes() {
        for (DecisionCode code : new DecisionCode[] {DecisionCode.DENY_POLICY, DecisionCode.DENY_FLOW,
                DecisionCode.DENY_CONDITION, DecisionCode.ERROR_FAIL_CLOSED}) {
            assertThat(Verdict.denied(code, "why", "doc/rule").code()).isSameAs(code);
        }
        for (DecisionCode code : new DecisionCode[] {DecisionCode.ALLOW, DecisionCode.DENY_NO_TASK,
                DecisionCode.DENY_NO_GRANT, DecisionCode.DENY_BUDGET, DecisionCode.PENDING_APPROVAL,
                DecisionCode.DENY_MALFORMED, DecisionCode.DENY_NO_IDENTITY}) {
            assertThatThrownBy(() -> Verdict.denied(code, "why", null)).as(code.name())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("code: " + code + " (expected: DENY_POLICY, DENY_FLOW, DENY_CONDITION or"
                            + " ERROR_FAIL_CLOSED)");
        }
    }

    @Test
    void anAllowHasNoCodeAndADenialNeedsAReason() {
        assertThat(Verdict.allowed("doc/rule", false, null).code()).isNull();
        assertThatThrownBy(() -> new Verdict(true, DecisionCode.DENY_POLICY, "x", null, false, false, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Verdict(false, DecisionCode.DENY_POLICY, null, null, false, false, null))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
