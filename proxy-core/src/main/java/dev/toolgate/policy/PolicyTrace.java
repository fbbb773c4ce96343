package dev.toolgate.policy;

import java.util.Map;

/**
 * Hears what a {@link PolicySet} looked at while deciding a call, for {@code toolgate policy explain}: the CEL
 * variables its conditions saw, and each rule whose route and operation matched the call (for a flow rule: whose
 * labels matched the task's history and the route) with what its condition gave. Only a set made with
 * {@link PolicySet#traced} calls one; the decision is the set's own, unchanged.
 *
 * <p>Called on the deciding thread, in the order the rules were looked at; an implementation must not throw.
 */
public interface PolicyTrace {
    /**
     * The policy is asked about a call; {@code variables} are the CEL variables ({@code request}, {@code mcp},
     * {@code grpc}, {@code task}, {@code agent}, {@code now}) as conditions see them (hidden headers left out).
     */
    void call(Map<String, Object> variables);

    /** A rule that matched the call was looked at. */
    void rule(Looked looked);

    /**
     * One rule looked at.
     *
     * @param rule       the rule ({@code document/rule})
     * @param kind       {@code allow}, {@code deny} or {@code flow}
     * @param withShadow whether it was looked at for what shadow-mode documents would decide (the enforcing and
     *                   shadow documents together), else for the enforcing documents alone
     * @param condition  its {@code when}, or null
     * @param held       what the condition gave; null when the rule has none or it could not be evaluated
     * @param error      why the condition could not be evaluated, else null
     */
    record Looked(String rule, String kind, boolean withShadow, String condition, Boolean held, String error) {}
}
