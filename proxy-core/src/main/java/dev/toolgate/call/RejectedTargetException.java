package dev.toolgate.call;

import static java.util.Objects.requireNonNull;

/**
 * Thrown by {@link PathNormalizer} for a request target it refuses. The message is a short,
 * fixed reason (never the raw target) that is safe to return to the client in a 400 body.
 *
 * <p>Carries no stack trace: refusals are expected input, possibly at a high rate, and the
 * reason alone says what went wrong. Immutable and thread-safe.
 */
public final class RejectedTargetException extends Exception {

    private static final long serialVersionUID = 1L;

    /**
     * Creates a refusal with the given reason.
     *
     * @throws NullPointerException if {@code reason} is null
     */
    public RejectedTargetException(String reason) {
        super(requireNonNull(reason, "reason"), null, false, false);
    }
}
