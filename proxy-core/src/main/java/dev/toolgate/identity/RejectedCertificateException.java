package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * A presented certificate chain that is not an acceptable X.509-SVID, with what the handshake's audit record needs:
 * the {@link #rule} that failed (a short stable name such as {@code untrusted_chain}), the leaf's SPIFFE ID as
 * presented ({@link #presentedId}: its one {@code spiffe://} URI SAN, <em>not</em> verified) and the SHA-256
 * fingerprint of the leaf. Thrown by the SVID trust manager, so it fails the handshake and travels in the cause
 * chain of the handshake exception. Immutable.
 */
public final class RejectedCertificateException extends CertificateException {
    private static final long serialVersionUID = 1L;
    /** A presented ID longer than this is cut (it is the peer's text, unverified). */
    private static final int MAX_ID_CHARS = 256;

    /** The rules a presented chain can fail, by their stable names. */
    public static final String NO_CERTIFICATE = "no_certificate";
    public static final String NOT_AN_SVID = "not_an_svid";
    public static final String LEAF_IS_CA = "leaf_is_ca";
    public static final String KEY_USAGE = "key_usage";
    public static final String UNKNOWN_TRUST_DOMAIN = "unknown_trust_domain";
    public static final String UNTRUSTED_CHAIN = "untrusted_chain";
    public static final String CERTIFICATE_EXPIRED = "certificate_expired";
    public static final String UNEXPECTED_ID = "unexpected_id";
    public static final String VERIFY_ERROR = "verify_error";

    private final String rule;
    private final String presentedId;
    private final String sha256;

    private RejectedCertificateException(String rule, String message, Throwable cause, String presentedId,
                                         String sha256) {
        super(message, cause);
        this.rule = requireNonNull(rule, "rule");
        this.presentedId = presentedId;
        this.sha256 = sha256;
    }

    /** A refusal of {@code leaf} (null when none was presented) by {@code rule}, {@code message} saying why. */
    static RejectedCertificateException of(String rule, String message, Throwable cause, X509Certificate leaf) {
        return new RejectedCertificateException(rule, message, cause, presentedId(leaf), fingerprint(leaf));
    }

    /** The rule that failed ({@code untrusted_chain}, {@code certificate_expired}, ...; see the constants). */
    public String rule() {
        return rule;
    }

    /** The leaf's one {@code spiffe://} URI SAN as presented (unverified, at most 256 characters), if it had one. */
    public Optional<String> presentedId() {
        return Optional.ofNullable(presentedId);
    }

    /** The SHA-256 fingerprint (lower-case hex) of the leaf's DER encoding, if there was a leaf. */
    public Optional<String> sha256() {
        return Optional.ofNullable(sha256);
    }

    /**
     * The one {@code spiffe://} URI SAN of {@code leaf} as it stands, unverified, or null (no leaf, none, several,
     * unreadable). Cut to 256 characters and stripped of control characters: it is the peer's text.
     */
    public static String presentedId(X509Certificate leaf) {
        if (leaf == null) {
            return null;
        }
        Collection<List<?>> sans;
        try {
            sans = leaf.getSubjectAlternativeNames();
        } catch (CertificateParsingException | RuntimeException e) {
            return null;
        }
        String found = null;
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.size() >= 2 && Integer.valueOf(6).equals(san.get(0))
                        && String.valueOf(san.get(1)).regionMatches(true, 0, "spiffe://", 0, 9)) {
                    if (found != null) {
                        return null;
                    }
                    found = String.valueOf(san.get(1));
                }
            }
        }
        if (found == null) {
            return null;
        }
        String clean = found.codePoints().filter(c -> c >= 0x20 && c != 0x7f)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return clean.length() > MAX_ID_CHARS ? clean.substring(0, MAX_ID_CHARS) + "..." : clean;
    }

    /** The SHA-256 fingerprint (lower-case hex) of {@code leaf}'s DER encoding, or null without a leaf. */
    public static String fingerprint(X509Certificate leaf) {
        if (leaf == null) {
            return null;
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(leaf.getEncoded()));
        } catch (CertificateEncodingException | NoSuchAlgorithmException | RuntimeException e) {
            return null;
        }
    }
}
