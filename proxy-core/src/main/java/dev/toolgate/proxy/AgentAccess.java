package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.identity.JwtSvidValidator;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpiffeIdPattern;
import java.util.List;

/**
 * Who may use the agent listener: the SPIFFE ID patterns of {@code access.agents} (empty: any verified ID) and,
 * when the listener also accepts JWT-SVIDs, their validator. Read by the TLS handshake's check
 * ({@link ProtocolSelector}) and by each request's identity step ({@link RequestIdentity}). Immutable; thread-safe.
 */
final class AgentAccess {
    private final List<SpiffeIdPattern> allowed;
    private final JwtSvidValidator jwt;

    /**
     * @param allowed the patterns an agent's ID must match (empty: any verified ID)
     * @param jwt     the JWT-SVID validator, or null when the listener accepts client certificates only
     */
    AgentAccess(List<SpiffeIdPattern> allowed, JwtSvidValidator jwt) {
        this.allowed = List.copyOf(requireNonNull(allowed, "allowed"));
        this.jwt = jwt;
    }

    /** Whether an agent with this (verified) ID may use the listener. */
    boolean allows(SpiffeId id) {
        if (allowed.isEmpty()) {
            return true;
        }
        for (SpiffeIdPattern p : allowed) {
            if (p.matches(id)) {
                return true;
            }
        }
        return false;
    }

    /** The JWT-SVID validator, or null when the listener accepts client certificates only. */
    JwtSvidValidator jwt() {
        return jwt;
    }
}
