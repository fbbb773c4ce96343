package dev.toolgate.identity;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.internal.tcnative.CertificateVerifier;
import java.security.cert.CertificateException;

/**
 * Lets BoringSSL tell a refused peer why: netty-tcnative turns a trust manager's exception into an X.509 verify
 * error, and BoringSSL picks the alert from it; a plain {@link CertificateException} becomes
 * {@code X509_V_ERR_UNSPECIFIED}, which the peer sees as {@code internal_error}. Wrapping the refusal in an
 * {@link OpenSslCertificateException} with the matching error makes it {@code unknown_ca},
 * {@code certificate_expired} or {@code bad_certificate}. The refusal stays the cause, so the handshake exception
 * still carries it. The JDK provider treats the wrapper like any {@link CertificateException} (it sends
 * {@code certificate_unknown}). Stateless.
 */
final class OpenSslAlerts {
    private OpenSslAlerts() {}

    /** {@code refusal}, wrapped with its verify error when netty-tcnative is loaded (it reads the error codes). */
    static CertificateException withAlert(RejectedCertificateException refusal) {
        if (!OpenSsl.isAvailable()) {
            return refusal; // the error codes are native constants; without the library there is no such alert
        }
        int error = switch (refusal.rule()) {
            case RejectedCertificateException.UNTRUSTED_CHAIN, RejectedCertificateException.UNKNOWN_TRUST_DOMAIN ->
                    CertificateVerifier.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY; // unknown_ca
            case RejectedCertificateException.CERTIFICATE_EXPIRED ->
                    CertificateVerifier.X509_V_ERR_CERT_HAS_EXPIRED; // certificate_expired
            case RejectedCertificateException.VERIFY_ERROR -> CertificateVerifier.X509_V_ERR_UNSPECIFIED;
            default -> CertificateVerifier.X509_V_ERR_CERT_REJECTED; // bad_certificate
        };
        return new OpenSslCertificateException(refusal.getMessage(), refusal, error);
    }
}
