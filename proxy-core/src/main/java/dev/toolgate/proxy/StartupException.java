package dev.toolgate.proxy;

/**
 * A sidecar could not start: its identity, audit trail, policy, task store, route files or an upstream's TLS could
 * not be set up. The message names the part and the cause (the CLI prints it after {@code "toolgate: "}); whatever
 * had been started before is closed again when this is thrown. Immutable.
 */
public final class StartupException extends Exception {
    private static final long serialVersionUID = 1L;

    StartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
