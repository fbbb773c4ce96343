package dev.toolgate.grant;

/**
 * A task operation was refused. {@link Kind} says how (each maps to one gRPC status and one HTTP status); the
 * message says why in words a person can act on, and never contains a token.
 */
public final class TaskException extends Exception {
    private static final long serialVersionUID = 1L;

    /** How an operation was refused. */
    public enum Kind {
        /** The request is malformed or asks for more than may be granted (HTTP 400, gRPC INVALID_ARGUMENT). */
        INVALID_ARGUMENT(400),
        /** The caller may not do this (HTTP 403, gRPC PERMISSION_DENIED). */
        PERMISSION_DENIED(403),
        /** No such task or grant (HTTP 404, gRPC NOT_FOUND). */
        NOT_FOUND(404),
        /** The task is no longer active (HTTP 409, gRPC FAILED_PRECONDITION). */
        FAILED_PRECONDITION(409),
        /** Too many live tasks (HTTP 429, gRPC RESOURCE_EXHAUSTED). */
        RESOURCE_EXHAUSTED(429),
        /** The change could not be recorded or audited; nothing changed (HTTP 503, gRPC UNAVAILABLE). */
        UNAVAILABLE(503);

        private final int httpStatus;

        Kind(int httpStatus) {
            this.httpStatus = httpStatus;
        }

        public int httpStatus() {
            return httpStatus;
        }
    }

    private final Kind kind;

    public TaskException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public TaskException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
