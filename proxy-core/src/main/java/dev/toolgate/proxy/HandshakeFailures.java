package dev.toolgate.proxy;

import dev.toolgate.identity.RejectedCertificateException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.security.cert.CertificateException;
import java.util.Locale;
import javax.net.ssl.SSLHandshakeException;

/**
 * Coarse, stable reasons for refused agent handshakes (metric labels must stay few), and what the audit record of a
 * refusal says ({@link Refusal}). Stateless.
 */
final class HandshakeFailures {
    private HandshakeFailures() {}

    /**
     * One refused handshake as audited: the rule that failed (the certificate rule, else the metric's reason), the
     * presented SPIFFE ID ({@code verified} only for {@code id_not_allowed}) and the leaf's SHA-256 where readable,
     * and a detail for people.
     */
    record Refusal(String rule, String presentedId, boolean verified, String sha256, String detail) {
        Refusal {
            java.util.Objects.requireNonNull(rule, "rule");
        }
    }

    /**
     * The audit view of a failed handshake whose metric reason is {@code reason}; null when it is not a refusal
     * (the peer went away: {@code other}).
     */
    static Refusal refusal(String reason, Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof RejectedCertificateException r) {
                return new Refusal(r.rule(), r.presentedId().orElse(null), false, r.sha256().orElse(null),
                        r.getMessage());
            }
        }
        if ("other".equals(reason)) {
            return null;
        }
        return new Refusal(reason, null, false, null, cause == null ? null : cause.getMessage());
    }

    static String reason(Throwable cause) {
        if (cause instanceof SslHandshakeTimeoutException) {
            return "timeout";
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof CertificateException) {
                return "certificate_rejected";
            }
            String msg = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
            if (msg.contains("peer_did_not_return_a_certificate") || msg.contains("certificate_required")
                    || msg.contains("empty client certificate chain")) {
                return "no_client_certificate";
            }
        }
        return cause instanceof SSLHandshakeException ? "handshake_failed" : "other";
    }
}
