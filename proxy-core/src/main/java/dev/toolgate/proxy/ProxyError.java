package dev.toolgate.proxy;

import dev.toolgate.admission.Step;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * A request the sidecar answers itself instead of forwarding: the status and the stable {@code error} code of the
 * JSON body. The reason text is per occurrence.
 */
enum ProxyError {
    BAD_REQUEST(HttpResponseStatus.BAD_REQUEST, "bad_request"),
    URI_TOO_LONG(HttpResponseStatus.REQUEST_URI_TOO_LONG, "uri_too_long"),
    HEADERS_TOO_LARGE(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large"),
    BODY_TOO_LARGE(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large"),
    /** The agent stopped sending its request body for {@code limits.bodyIdleTimeout}. */
    REQUEST_TIMEOUT(HttpResponseStatus.REQUEST_TIMEOUT, "request_timeout"),
    METHOD_NOT_ALLOWED(HttpResponseStatus.METHOD_NOT_ALLOWED, "method_not_allowed"),
    EXPECTATION_FAILED(HttpResponseStatus.EXPECTATION_FAILED, "expectation_failed"),
    NO_ROUTE(HttpResponseStatus.NOT_FOUND, "no_route"),
    /** No workload identity: no client certificate and no JWT-SVID ({@code DENY_NO_IDENTITY}). */
    UNAUTHENTICATED(HttpResponseStatus.UNAUTHORIZED, "toolgate_denied", "Bearer realm=\"toolgate\""),
    /** A JWT-SVID was presented and refused ({@code DENY_NO_IDENTITY}; RFC 6750 {@code invalid_token}). */
    INVALID_TOKEN(HttpResponseStatus.UNAUTHORIZED, "toolgate_denied",
            "Bearer realm=\"toolgate\", error=\"invalid_token\""),
    /** The authorizer denied the call (no task, no grant, ...); the decision code says which rule. */
    DENIED(HttpResponseStatus.FORBIDDEN, "toolgate_denied"),
    /** A rate limit refused the call ({@code DENY_BUDGET}); it passes again after the {@code Retry-After} wait. */
    RATE_LIMITED(HttpResponseStatus.TOO_MANY_REQUESTS, "toolgate_denied"),
    /** The decision could not be made (an internal error while deciding): denied, fail closed. */
    DECISION_FAILED(HttpResponseStatus.SERVICE_UNAVAILABLE, "toolgate_denied"),
    UPSTREAM_CONNECT_FAILED(HttpResponseStatus.BAD_GATEWAY, "upstream_connect_failed"),
    UPSTREAM_TLS_FAILED(HttpResponseStatus.BAD_GATEWAY, "upstream_tls_failed"),
    UPSTREAM_RESET(HttpResponseStatus.BAD_GATEWAY, "upstream_reset"),
    UPSTREAM_BAD_RESPONSE(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_response"),
    UPSTREAM_OVERLOADED(HttpResponseStatus.SERVICE_UNAVAILABLE, "upstream_overloaded"),
    UPSTREAM_CONNECT_TIMEOUT(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_connect_timeout"),
    UPSTREAM_TIMEOUT(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_timeout"),
    /**
     * Fail closed: the decision record could not be written in time (or at once: the audit sink is failing), so
     * nothing is forwarded.
     */
    AUDIT_UNAVAILABLE(HttpResponseStatus.SERVICE_UNAVAILABLE, "audit_unavailable");

    final HttpResponseStatus status;
    final String code;
    /** The {@code WWW-Authenticate} challenge of a 401, else null. */
    final String challenge;

    ProxyError(HttpResponseStatus status, String code) {
        this(status, code, null);
    }

    ProxyError(HttpResponseStatus status, String code, String challenge) {
        this.status = status;
        this.code = code;
        this.challenge = challenge;
    }

    /** The answer a refusal from admission gets on the data plane: its {@link Step.Answer}, else its code's. */
    static ProxyError of(Step.Refused refused) {
        return switch (refused.answer()) {
            case NO_ROUTE -> NO_ROUTE;
            case RATE_LIMITED -> RATE_LIMITED;
            case BODY_TOO_LARGE -> BODY_TOO_LARGE;
            case UNSUPPORTED_MEDIA_TYPE -> BAD_REQUEST;
            case DECIDED -> switch (refused.code()) {
                case DENY_MALFORMED -> BAD_REQUEST;
                case DENY_NO_IDENTITY -> UNAUTHENTICATED;
                case ERROR_FAIL_CLOSED -> DECISION_FAILED;
                default -> DENIED;
            };
        };
    }
}
