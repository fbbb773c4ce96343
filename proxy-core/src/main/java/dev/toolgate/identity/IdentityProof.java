package dev.toolgate.identity;

/**
 * How a caller proved its SPIFFE ID: with an X.509-SVID as TLS client certificate (verified once per connection
 * during the handshake) or with a JWT-SVID in the {@code Authorization: Bearer} header (verified on every request
 * that carries it). The {@link #json} name is what audit records and policy conditions ({@code agent.proof}) see.
 */
public enum IdentityProof {
    /** An X.509-SVID presented as the TLS client certificate. */
    X509("x509"),
    /** A JWT-SVID in the request's {@code Authorization: Bearer} header. */
    JWT("jwt");

    private final String json;

    IdentityProof(String json) {
        this.json = json;
    }

    /** {@code x509} or {@code jwt}. */
    public String json() {
        return json;
    }
}
