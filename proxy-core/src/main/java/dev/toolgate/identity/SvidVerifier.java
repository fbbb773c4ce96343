package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The X509-SVID verification rules for a presented peer chain: the leaf carries exactly one valid
 * SPIFFE ID with a path; the leaf is not a CA and may sign (digitalSignature) but not certify
 * (keyCertSign, cRLSign); the chain passes PKIX validation (RFC 5280, at the clock's time, no
 * revocation) against the bundle of the leaf's own trust domain only; and, for an upstream, the ID
 * equals the expected one. Immutable and thread-safe.
 */
final class SvidVerifier {

    private static final int DIGITAL_SIGNATURE = 0;
    private static final int KEY_CERT_SIGN = 5;
    private static final int CRL_SIGN = 6;

    private final Map<String, Set<TrustAnchor>> anchors;
    private final Optional<SpiffeId> expected;
    private final Clock clock;

    SvidVerifier(TrustBundles bundles, Optional<SpiffeId> expected, Clock clock) {
        requireNonNull(bundles, "bundles");
        Map<String, Set<TrustAnchor>> byTd = new HashMap<>();
        for (String td : bundles.trustDomains()) {
            byTd.put(td, bundles.forTrustDomain(td).orElseThrow().stream()
                    .map(ca -> new TrustAnchor(ca, null))
                    .collect(Collectors.toUnmodifiableSet()));
        }
        this.anchors = Map.copyOf(byTd);
        this.expected = requireNonNull(expected, "expected");
        this.clock = requireNonNull(clock, "clock");
    }

    /**
     * Verifies a presented chain (leaf first).
     *
     * @return the verified SPIFFE ID of the leaf
     * @throws CertificateException with the reason if any rule fails
     */
    SpiffeId verify(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0 || chain[0] == null) {
            throw RejectedCertificateException.of(RejectedCertificateException.NO_CERTIFICATE,
                    "peer presented no certificate", null, null);
        }
        X509Certificate leaf = chain[0];
        SpiffeId id;
        try {
            id = SpiffeId.fromCertificate(leaf);
        } catch (CertificateException e) {
            throw RejectedCertificateException.of(RejectedCertificateException.NOT_AN_SVID, e.getMessage(), e, leaf);
        }
        if (leaf.getBasicConstraints() >= 0) {
            throw reject(RejectedCertificateException.LEAF_IS_CA,
                    "leaf " + id + " is a CA (basicConstraints CA=true)", null, leaf);
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage == null) {
            throw reject(RejectedCertificateException.KEY_USAGE,
                    "leaf " + id + " has no keyUsage (expected: digitalSignature)", null, leaf);
        }
        if (has(usage, KEY_CERT_SIGN) || has(usage, CRL_SIGN)) {
            throw reject(RejectedCertificateException.KEY_USAGE,
                    "leaf " + id + " has keyUsage keyCertSign or cRLSign", null, leaf);
        }
        if (!has(usage, DIGITAL_SIGNATURE)) {
            throw reject(RejectedCertificateException.KEY_USAGE,
                    "leaf " + id + " lacks keyUsage digitalSignature", null, leaf);
        }
        Set<TrustAnchor> trusted = anchors.get(id.trustDomain());
        if (trusted == null) {
            throw reject(RejectedCertificateException.UNKNOWN_TRUST_DOMAIN, "no trust bundle for trust domain "
                    + SpiffeId.quote(id.trustDomain()) + " of " + id, null, leaf);
        }
        validatePath(id, chain, trusted);
        if (expected.isPresent() && !expected.get().equals(id)) {
            throw reject(RejectedCertificateException.UNEXPECTED_ID,
                    "peer " + id + " is not the expected " + expected.get(), null, leaf);
        }
        return id;
    }

    private static RejectedCertificateException reject(String rule, String message, Throwable cause,
                                                       X509Certificate leaf) {
        return RejectedCertificateException.of(rule, message, cause, leaf);
    }

    private void validatePath(SpiffeId id, X509Certificate[] chain, Set<TrustAnchor> trusted)
            throws CertificateException {
        // PKIX wants the path without its anchor; peers often send the root along.
        List<X509Certificate> path = new ArrayList<>(chain.length);
        for (X509Certificate cert : chain) {
            if (cert == null || isAnchor(cert, trusted)) {
                break;
            }
            path.add(cert);
        }
        try {
            CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
            PKIXParameters params = new PKIXParameters(trusted);
            params.setRevocationEnabled(false);
            params.setDate(Date.from(clock.instant()));
            CertPathValidator.getInstance("PKIX").validate(certPath, params);
        } catch (CertPathValidatorException e) {
            boolean expired = e.getReason() == CertPathValidatorException.BasicReason.EXPIRED
                    || e.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID;
            throw reject(expired ? RejectedCertificateException.CERTIFICATE_EXPIRED
                    : RejectedCertificateException.UNTRUSTED_CHAIN, "chain of " + id
                    + " does not verify against the trust bundle of " + SpiffeId.quote(id.trustDomain()) + ": "
                    + e.getReason() + ": " + e.getMessage(), e, chain[0]);
        } catch (InvalidAlgorithmParameterException e) {
            throw reject(RejectedCertificateException.VERIFY_ERROR, "trust bundle of "
                    + SpiffeId.quote(id.trustDomain()) + " is unusable: " + e.getMessage(), e, chain[0]);
        } catch (GeneralSecurityException e) {
            throw reject(RejectedCertificateException.VERIFY_ERROR,
                    "cannot validate the chain of " + id + ": " + e.getMessage(), e, chain[0]);
        }
    }

    private static boolean isAnchor(X509Certificate cert, Set<TrustAnchor> trusted) {
        for (TrustAnchor anchor : trusted) {
            if (cert.equals(anchor.getTrustedCert())) {
                return true;
            }
        }
        return false;
    }

    private static boolean has(boolean[] usage, int bit) {
        return usage.length > bit && usage[bit];
    }

    /** All CA certificates of all bundles, for the CertificateRequest sent to clients. */
    X509Certificate[] acceptedIssuers() {
        return anchors.values().stream()
                .flatMap(Set::stream)
                .map(TrustAnchor::getTrustedCert)
                .toArray(X509Certificate[]::new);
    }
}
