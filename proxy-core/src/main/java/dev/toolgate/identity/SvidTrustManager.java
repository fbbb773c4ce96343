package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A trust manager that accepts a peer only if its chain is a valid X.509-SVID by
 * {@link SvidVerifier}. It replaces hostname verification: the peer is authenticated by its
 * SPIFFE ID, so the socket and engine overloads ignore the endpoint identification algorithm.
 * The thrown {@link RejectedCertificateException} fails the handshake and names the rule, the presented ID and the
 * certificate's fingerprint for the audit record of the refusal. Thread-safe.
 */
final class SvidTrustManager extends X509ExtendedTrustManager {

    private static final Logger log = LoggerFactory.getLogger(SvidTrustManager.class);

    private final SvidVerifier verifier;

    SvidTrustManager(SvidVerifier verifier) {
        this.verifier = requireNonNull(verifier, "verifier");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, "client");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, "client");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, "client");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, "server");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, "server");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, "server");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return verifier.acceptedIssuers();
    }

    private void check(X509Certificate[] chain, String role) throws CertificateException {
        try {
            verifier.verify(chain);
        } catch (RejectedCertificateException e) {
            log.debug("rejected {} certificate ({}): {}", role, e.rule(), e.getMessage());
            throw OpenSslAlerts.withAlert(e);
        } catch (CertificateException e) {
            log.debug("rejected {} certificate: {}", role, e.getMessage());
            throw e;
        } catch (RuntimeException e) {
            // A parser bug on hostile input must fail the handshake, never pass it.
            log.debug("rejected {} certificate", role, e);
            throw RejectedCertificateException.of(RejectedCertificateException.VERIFY_ERROR,
                    "cannot verify " + role + " certificate: " + e, e, chain == null || chain.length == 0 ? null
                            : chain[0]);
        }
    }
}
