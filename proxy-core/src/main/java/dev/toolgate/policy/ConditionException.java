package dev.toolgate.policy;

/**
 * A condition could not be evaluated: a missing key, a type mismatch, an exceeded limit, a result that is not a
 * boolean. The caller must deny the call ({@code ERROR_FAIL_CLOSED}), never allow it. The message names the rule
 * and the cause; it never contains argument values.
 */
public final class ConditionException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConditionException(String message) {
        super(message);
    }

    public ConditionException(String message, Throwable cause) {
        super(message, cause);
    }
}
