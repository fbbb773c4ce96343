package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Reads the caller's SPIFFE ID from a finished TLS session. It does not verify anything itself:
 * use it only with sessions of a {@link TlsMaterial} context, whose trust manager has already
 * verified the peer's chain during the handshake. Stateless and thread-safe.
 */
public final class PeerIdentity {

    private PeerIdentity() {}

    /**
     * Returns the SPIFFE ID of the peer's leaf certificate.
     *
     * @throws NullPointerException if {@code session} is null
     * @throws SSLPeerUnverifiedException if the peer presented no X.509 certificate or its leaf holds
     *     no valid SPIFFE ID (treat as unauthenticated)
     */
    public static SpiffeId of(SSLSession session) throws SSLPeerUnverifiedException {
        requireNonNull(session, "session");
        Certificate[] chain = session.getPeerCertificates();
        if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
            throw new SSLPeerUnverifiedException("peer presented no X.509 certificate");
        }
        try {
            return SpiffeId.fromCertificate(leaf);
        } catch (CertificateException e) {
            SSLPeerUnverifiedException unverified = new SSLPeerUnverifiedException(e.getMessage());
            unverified.initCause(e);
            throw unverified;
        }
    }
}
