package dev.toolgate.proxy;

import dev.toolgate.audit.AuditRecord;
import dev.toolgate.identity.RejectedCertificateException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.security.cert.CertificateException;
import java.time.Instant;
import java.util.Locale;
import javax.net.ssl.SSLHandshakeException;

/**
 * Coarse, stable reasons for refused agent handshakes (metric labels must stay few), and what the audit record of a
 * refusal says ({@link Refusal}). Stateless.
 */
final class HandshakeFailures {
    private static final int MAX_DETAIL_CHARS = 300;

    private HandshakeFailures() {}

    /**
     * One refused handshake as audited (by {@link RefusalAudit}, aggregated per rule and presented ID): the rule
     * that failed (the certificate rule, else the metric's reason), the presented SPIFFE ID ({@code verified} only
     * for {@code id_not_allowed}) and the leaf's SHA-256 where readable, and a detail for people.
     */
    record Refusal(String rule, String presentedId, boolean verified, String sha256, String detail)
            implements RefusalAudit.Refusal {
        Refusal {
            java.util.Objects.requireNonNull(rule, "rule");
        }

        @Override
        public String subject() {
            return presentedId;
        }

        @Override
        public String variant() {
            return sha256;
        }

        /**
         * A {@code deny} / {@code DENY_NO_IDENTITY} record with operation {@code TLS handshake} and no
         * {@code agent}: an ID a refused certificate presents is not verified, and the reason says so.
         */
        @Override
        public AuditRecord record(Instant ts, String decisionId, RefusalAudit.Tally tally) {
            return AuditRecord.handshakeRefused(ts, decisionId, reason(tally), tally.count(), tally.first(),
                    tally.last());
        }

        private String reason(RefusalAudit.Tally tally) {
            StringBuilder b = new StringBuilder("TLS handshake refused: ").append(rule);
            if (tally.manySubjects()) {
                b.append("; presented IDs: many (over ").append(RefusalAudit.MAX_KEYS)
                        .append(" distinct at a time; unverified)");
            } else if (presentedId != null) {
                b.append("; presented ").append(presentedId).append(verified
                        ? " (verified, not in access.agents)" : " (unverified)");
            }
            if (tally.variantsDiffer()) {
                b.append("; certificates vary");
            } else if (sha256 != null) {
                b.append("; certificate sha256 ").append(sha256);
            }
            if (detail != null && !detail.isEmpty()) {
                b.append("; ").append(detail.length() > MAX_DETAIL_CHARS
                        ? detail.substring(0, MAX_DETAIL_CHARS) + "..." : detail);
            }
            return b.toString();
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
