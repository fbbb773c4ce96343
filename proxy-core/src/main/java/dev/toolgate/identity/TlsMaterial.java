package dev.toolgate.identity;

import io.netty.handler.ssl.SslContext;
import java.time.Clock;

/**
 * The TLS setup of the sidecar: its own SVID and the contexts that verify peers as X.509-SVIDs.
 * Kept behind this small interface so a rotating source (SPIRE Workload API, watched files) can
 * replace the static one; callers should ask for a context per new connection rather than keep
 * one, so rotation takes effect without dropping live connections.
 *
 * <p>Every presented peer chain must be a valid X.509-SVID: exactly one URI SAN holding a valid
 * SPIFFE ID with a path; a leaf that is not a CA, has keyUsage digitalSignature and neither
 * keyCertSign nor cRLSign; and a chain that passes PKIX validation (at the current time, without
 * revocation) against the trust bundle of the leaf's own trust domain. A violation fails the
 * handshake with a {@link java.security.cert.CertificateException} naming the rule as its cause.
 * Hostname verification is not used: the SPIFFE ID is the peer's identity.
 *
 * <p>Implementations are thread-safe. Contexts use BoringSSL when available, else the JDK
 * provider, and allow TLS 1.2 and 1.3 with AEAD cipher suites only.
 */
public interface TlsMaterial {

    /**
     * The agent-facing listener context: presents our SVID and requires a client certificate that
     * verifies as an X.509-SVID of any trusted trust domain. ALPN offers {@code h2}, then
     * {@code http/1.1}. Read the caller's ID afterwards with {@link PeerIdentity#of}.
     */
    default SslContext serverContext() {
        return serverContext(true);
    }

    /**
     * The agent-facing listener context; with {@code clientCertificateRequired} false a client may also connect
     * without a certificate (for a listener that accepts JWT-SVIDs, which then must identify every request), while
     * a certificate that is presented is verified exactly as when it is required: a bad one fails the handshake.
     */
    SslContext serverContext(boolean clientCertificateRequired);

    /**
     * The upstream hop context: presents our SVID (mTLS) and accepts only a server whose SVID
     * verifies against the bundle of its own trust domain and whose ID equals {@code expected}.
     * ALPN offers {@code h2} only if {@code http2}, else only {@code http/1.1}.
     *
     * @throws NullPointerException if {@code expected} is null
     */
    SslContext upstreamContext(SpiffeId expected, boolean http2);

    /** Our own SVID. */
    Svid svid();

    /**
     * Static material (PEM files or the dev CA). Builds the server context now, upstream contexts
     * on first use; each is built once and cached.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the TLS provider refuses the key or certificates
     */
    static TlsMaterial of(Svid own, TrustBundles bundles) {
        return StaticTlsMaterial.create(own, bundles, SslContexts.defaultProvider(), Clock.systemUTC());
    }
}
