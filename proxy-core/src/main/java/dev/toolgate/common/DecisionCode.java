package dev.toolgate.common;

/**
 * The decision codes of DESIGN.md (section Decision), as they appear in denials, audit records and metrics, each
 * with its protocol-native answer: the HTTP status and JSON {@code error} of a denial, the gRPC status a gRPC client
 * gets, the JSON-RPC error code an MCP client gets. The one place a code's answer is defined; front ends that need
 * a more precise status for one refusal (404 for an unknown route, 429 for a rate limit, 413 for a body too large)
 * get it from the admission step, never by mapping codes themselves.
 */
public enum DecisionCode {
    ALLOW(200, null, 0, 0),
    DENY_NO_IDENTITY(401, "toolgate_denied", 16, Rpc.DENIED),
    DENY_NO_TASK(403, "toolgate_denied", 7, Rpc.DENIED),
    DENY_TASK_EXPIRED(403, "toolgate_denied", 7, Rpc.DENIED),
    DENY_TASK_ENDED(403, "toolgate_denied", 7, Rpc.DENIED),
    DENY_IDENTITY_MISMATCH(403, "toolgate_denied", 7, Rpc.DENIED),
    DENY_NO_GRANT(403, "toolgate_denied", 7, Rpc.DENIED),
    DENY_CONDITION(403, "toolgate_denied", 7, Rpc.DENIED),
    DENY_BUDGET(403, "toolgate_denied", 7, Rpc.DENIED),
    DENY_POLICY(403, "toolgate_denied", 7, Rpc.DENIED),
    DENY_FLOW(403, "toolgate_denied", 7, Rpc.DENIED),
    PENDING_APPROVAL(403, "toolgate_denied", 7, Rpc.DENIED),
    DENY_MALFORMED(400, "bad_request", 3, Rpc.INVALID_REQUEST),
    ERROR_FAIL_CLOSED(503, "toolgate_denied", 14, Rpc.DENIED);

    /** JSON-RPC error codes of the sidecar's own answers. */
    private static final class Rpc {
        /** A call the sidecar refused (implementation-defined server error range). */
        static final int DENIED = -32001;
        /** JSON-RPC 2.0: the message is not a valid request. */
        static final int INVALID_REQUEST = -32600;
    }

    private final int httpStatus;
    private final String error;
    private final int grpcStatus;
    private final int jsonRpcCode;

    DecisionCode(int httpStatus, String error, int grpcStatus, int jsonRpcCode) {
        this.httpStatus = httpStatus;
        this.error = error;
        this.grpcStatus = grpcStatus;
        this.jsonRpcCode = jsonRpcCode;
    }

    /** The HTTP status of a refusal with this code (200 for {@link #ALLOW}). */
    public int httpStatus() {
        return httpStatus;
    }

    /** The {@code error} field of the JSON answer: {@code toolgate_denied}, {@code bad_request}; null for ALLOW. */
    public String error() {
        return error;
    }

    /**
     * The gRPC status code (grpc/doc/statuscodes.md) a gRPC client gets: {@code PERMISSION_DENIED} for a denial as
     * DESIGN.md fixes, {@code UNAUTHENTICATED} without identity, {@code INVALID_ARGUMENT} for a malformed request,
     * {@code UNAVAILABLE} when the decision could not be made; 0 (OK) for ALLOW.
     */
    public int grpcStatus() {
        return grpcStatus;
    }

    /** The JSON-RPC {@code error.code} an MCP client gets; 0 for ALLOW. */
    public int jsonRpcCode() {
        return jsonRpcCode;
    }
}
