package dev.toolgate.policy;

/**
 * A policy document set that cannot be used. The message names the file, the line, the path inside the document
 * and what was expected, e.g.
 * {@code config/policies/research.yaml:12: allow[0].maxTtl: "30x" (expected: a duration such as 500ms, 2s, 1m, 1h)}.
 * The set it belongs to is refused whole.
 */
public final class PolicyException extends Exception {
    private static final long serialVersionUID = 1L;

    public PolicyException(String message) {
        super(message);
    }

    public PolicyException(String message, Throwable cause) {
        super(message, cause);
    }
}
