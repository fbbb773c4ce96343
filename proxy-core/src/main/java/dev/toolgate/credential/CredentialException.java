package dev.toolgate.credential;

/**
 * A credential could not be produced for a call (the task expired or ended, signing failed, the route is unknown).
 * The caller denies the call: a call is never forwarded without the credential its route names (fail closed).
 * The message names the route and the reason, never a secret or a token.
 */
public final class CredentialException extends Exception {
    private static final long serialVersionUID = 1L;

    public CredentialException(String message) {
        super(message);
    }

    public CredentialException(String message, Throwable cause) {
        super(message, cause);
    }
}
