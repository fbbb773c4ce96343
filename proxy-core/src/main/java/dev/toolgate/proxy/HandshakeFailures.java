package dev.toolgate.proxy;

import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.security.cert.CertificateException;
import java.util.Locale;
import javax.net.ssl.SSLHandshakeException;

/** Coarse, stable reasons for refused agent handshakes (metric labels must stay few). Stateless. */
final class HandshakeFailures {
    private HandshakeFailures() {}

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
