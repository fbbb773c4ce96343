package dev.toolgate.policy;

/**
 * The rule-by-rule steps of {@link PolicySet#evaluate} that a {@link PolicyTrace} hears about: with no trace
 * (every sidecar), exactly the evaluation without one. Stateless.
 */
final class RuleTrace {
    private RuleTrace() {}

    /**
     * Whether a matching rule's condition holds (a rule without one always does), told to {@code trace} when there
     * is one.
     *
     * @throws ConditionException if the condition cannot be evaluated (told to the trace first)
     */
    static boolean holds(PolicyTrace trace, Activation a, String rule, String kind, Condition when,
                         boolean withShadow) throws ConditionException {
        if (trace == null) {
            return when == null || when.evaluate(a, rule);
        }
        if (when == null) {
            trace.rule(new PolicyTrace.Looked(rule, kind, withShadow, null, null, null));
            return true;
        }
        try {
            boolean held = when.evaluate(a, rule);
            trace.rule(new PolicyTrace.Looked(rule, kind, withShadow, when.expression(), held, null));
            return held;
        } catch (ConditionException e) {
            trace.rule(new PolicyTrace.Looked(rule, kind, withShadow, when.expression(), null, e.getMessage()));
            throw e;
        }
    }

    /** A call is evaluated: the variables its conditions see. */
    static void call(PolicyTrace trace, Activation a) {
        if (trace != null) {
            trace.call(a.all());
        }
    }

    /** A flow rule fired. */
    static void flow(PolicyTrace trace, String rule, boolean withShadow) {
        if (trace != null) {
            trace.rule(new PolicyTrace.Looked(rule, "flow", withShadow, null, null, null));
        }
    }
}
