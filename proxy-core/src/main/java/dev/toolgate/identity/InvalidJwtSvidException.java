package dev.toolgate.identity;

/**
 * A JWT-SVID was refused. The message names the rule that failed (and never contains the token); callers audit it
 * and answer {@code DENY_NO_IDENTITY}.
 */
public final class InvalidJwtSvidException extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidJwtSvidException(String reason) {
        super(reason);
    }

    InvalidJwtSvidException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
