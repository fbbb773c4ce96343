package dev.toolgate.policy;

import static java.util.Objects.requireNonNull;

import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;

/**
 * A CEL condition over one call, compiled once (when its policy loads) and evaluated on every call it applies to.
 *
 * <p>The variables are those of {@link CallFacts}. At compile time the expression is type-checked (fields of the
 * variables are declared, the result must be a {@code bool}) and held to the limits: at most 4096 characters,
 * parser recursion 32, expression tree depth 32, 1000 nodes, comprehensions nested at most 2 deep, regular
 * expression literals valid. At evaluation, all comprehensions of one evaluation together may iterate 1000 times
 * and a regular expression may compile to at most 1000 RE2 instructions.
 *
 * <p>Evaluation fails closed: any error, or a result that is not a boolean (possible through {@code dyn} values
 * such as {@code mcp.arguments}), is a {@link ConditionException}, never a {@code true}.
 *
 * <p>Immutable and thread-safe.
 */
public final class Condition {
    /** Longest expression accepted, in characters. */
    public static final int MAX_LENGTH = CelEnv.MAX_LENGTH;

    private final String expression;
    private final CelRuntime.Program program;

    private Condition(String expression, CelRuntime.Program program) {
        this.expression = expression;
        this.program = program;
    }

    /**
     * Compiles {@code expression}.
     *
     * @throws NullPointerException if {@code expression} is null
     * @throws IllegalArgumentException with the reason (CEL's message with position, or the limit exceeded)
     */
    public static Condition compile(String expression) {
        requireNonNull(expression, "expression");
        return new Condition(expression, CelEnv.compile(expression));
    }

    /** The source text. */
    public String expression() {
        return expression;
    }

    /**
     * Evaluates the condition for one call.
     *
     * @throws ConditionException if it cannot be evaluated or does not yield a boolean: deny the call
     */
    public boolean evaluate(CallFacts facts) throws ConditionException {
        return evaluate(new Activation(requireNonNull(facts, "facts")), "condition");
    }

    /** Evaluates with the variables of a decision in progress; {@code rule} names the condition in errors. */
    boolean evaluate(Activation activation, String rule) throws ConditionException {
        Object result;
        try {
            result = program.eval(activation);
        } catch (CelEvaluationException e) {
            throw new ConditionException(rule + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // Whatever a conversion or the runtime throws: an error, so the call is denied.
            throw new ConditionException(rule + ": " + e, e);
        }
        if (result instanceof Boolean b) {
            return b;
        }
        throw new ConditionException(rule + ": the condition yielded "
                + (result == null ? "null" : result.getClass().getSimpleName()) + " (expected: a bool)");
    }

    @Override
    public String toString() {
        return expression;
    }
}
