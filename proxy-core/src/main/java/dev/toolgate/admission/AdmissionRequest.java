package dev.toolgate.admission;

import static java.util.Objects.requireNonNull;

import dev.toolgate.call.RequestHeaders;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;

/**
 * A request as a front end hands it to {@link Admission#head}: nothing parsed or normalized yet. Immutable (the
 * headers view is read, never changed).
 *
 * @param method   the HTTP method ({@code POST} for a gRPC call)
 * @param target   the request target as received (origin form: path and query), not yet normalized
 * @param headers  the request's headers (the task token, the MCP session id, the content type, conditions)
 * @param agent    the caller's verified SPIFFE ID, or null when the front end has none (refused
 *                 {@code DENY_NO_IDENTITY})
 * @param proof    how {@code agent} was proven; ignored when {@code agent} is null
 * @param localApi whether this front end serves the sidecar's own task endpoints ({@code /_toolgate/...}); when
 *                 it does, such a target is handed back as {@link Step.Local} instead of being matched to a route
 */
public record AdmissionRequest(String method, String target, RequestHeaders headers, SpiffeId agent,
                               IdentityProof proof, boolean localApi) {
    public AdmissionRequest {
        requireNonNull(method, "method");
        requireNonNull(target, "target");
        requireNonNull(headers, "headers");
        if (agent != null) {
            requireNonNull(proof, "proof");
        }
    }
}
