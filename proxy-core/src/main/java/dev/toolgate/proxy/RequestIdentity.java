package dev.toolgate.proxy;

import dev.toolgate.common.DecisionCode;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.InvalidJwtSvidException;
import dev.toolgate.identity.JwtSvidValidator;
import dev.toolgate.identity.SpiffeId;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.List;

/**
 * Who makes one request, and how it was proven.
 *
 * <ul>
 * <li>A connection with a verified client certificate (X.509-SVID) identifies every request on it; this costs
 *     nothing per request: the ID was read once, after the handshake.</li>
 * <li>On a listener with JWT-SVIDs enabled, a request on a connection without a certificate must carry exactly one
 *     {@code Authorization: Bearer <JWT-SVID>}, validated for that request alone: a valid token on one request
 *     identifies nobody on the next. Its subject must also match {@code access.agents}.</li>
 * <li>A request that presents both (a certificate and a Bearer token) is served as the certificate's identity
 *     ({@code x509} wins) only when the token is valid and names the same SPIFFE ID; an invalid token is refused
 *     ({@code DENY_NO_IDENTITY}), a token for another workload too ({@code DENY_IDENTITY_MISMATCH}): a request must
 *     never be ambiguous about who makes it.</li>
 * </ul>
 * The {@code Authorization} header is consumed here and never forwarded (the upstream request drops it). Refusal
 * reasons name the rule that failed and never contain the token. Stateless.
 */
final class RequestIdentity {
    private static final String BEARER = "bearer ";

    private RequestIdentity() {}

    /** A caller and its proof. */
    record Caller(SpiffeId id, IdentityProof proof) {}

    /** Nobody could be identified (or the two proofs disagree): answered with {@link #error}, audited as {@link #code}. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        final DecisionCode code;
        final ProxyError error;
        /** Whether the connection closes after the answer (only when it can never identify anybody). */
        final boolean close;

        Refused(DecisionCode code, ProxyError error, String reason, boolean close) {
            super(reason, null, false, false);
            this.code = code;
            this.error = error;
            this.close = close;
        }
    }

    /**
     * @param peer   the connection's verified X.509 identity, or null
     * @param access who may use the listener, and its JWT-SVID validator (null when JWT-SVIDs are off)
     */
    static Caller identify(SpiffeId peer, HttpHeaders headers, AgentAccess access) throws Refused {
        JwtSvidValidator jwt = access.jwt();
        if (jwt == null) {
            if (peer == null) {
                throw new Refused(DecisionCode.DENY_NO_IDENTITY, ProxyError.UNAUTHENTICATED,
                        "no verified workload identity on this connection", true);
            }
            return new Caller(peer, IdentityProof.X509);
        }
        List<String> auth = headers.getAll(HttpHeaderNames.AUTHORIZATION);
        if (peer != null && !anyBearer(auth)) {
            return new Caller(peer, IdentityProof.X509);
        }
        if (auth.isEmpty()) {
            throw new Refused(DecisionCode.DENY_NO_IDENTITY, ProxyError.UNAUTHENTICATED,
                    "no client certificate and no JWT-SVID (expected: a client X.509-SVID or Authorization: Bearer"
                            + " <JWT-SVID> for audience " + jwt.audience() + ")", false);
        }
        if (auth.size() > 1) {
            throw new Refused(DecisionCode.DENY_NO_IDENTITY, ProxyError.INVALID_TOKEN,
                    auth.size() + " Authorization headers (expected: one Bearer JWT-SVID)", false);
        }
        String value = auth.get(0);
        if (!value.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            throw new Refused(DecisionCode.DENY_NO_IDENTITY, ProxyError.INVALID_TOKEN,
                    "Authorization is not a Bearer token (expected: Bearer <JWT-SVID>)", false);
        }
        String token = value.substring(BEARER.length()).trim();
        if (token.isEmpty()) {
            throw new Refused(DecisionCode.DENY_NO_IDENTITY, ProxyError.INVALID_TOKEN,
                    "empty Bearer token (expected: a JWT-SVID)", false);
        }
        SpiffeId subject;
        try {
            subject = jwt.validate(token);
        } catch (InvalidJwtSvidException e) {
            throw new Refused(DecisionCode.DENY_NO_IDENTITY, ProxyError.INVALID_TOKEN,
                    "JWT-SVID refused: " + e.getMessage(), false);
        }
        if (peer != null) {
            if (!peer.equals(subject)) {
                throw new Refused(DecisionCode.DENY_IDENTITY_MISMATCH, ProxyError.DENIED, "the client certificate is "
                        + peer + " but the JWT-SVID names " + subject + " (both must name the same workload)", false);
            }
            return new Caller(peer, IdentityProof.X509);
        }
        if (!access.allows(subject)) {
            throw new Refused(DecisionCode.DENY_NO_IDENTITY, ProxyError.INVALID_TOKEN,
                    "JWT-SVID subject " + subject + " is not among the listener's allowed SPIFFE IDs", false);
        }
        return new Caller(subject, IdentityProof.JWT);
    }

    private static boolean anyBearer(List<String> values) {
        for (String v : values) {
            if (v.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
                return true;
            }
        }
        return false;
    }
}
