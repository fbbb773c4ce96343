package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * A SPIFFE ID ({@code spiffe://<trust domain><path>}), validated against the SPIFFE-ID
 * specification: lowercase trust domain of {@code [a-z0-9.-_]} without port or userinfo; path
 * segments of {@code [A-Za-z0-9.-_]} without empty, {@code .} or {@code ..} segments, percent
 * encoding or a trailing slash; no query or fragment; at most 2048 bytes in total. The path is
 * either empty (the ID of a trust domain) or starts with {@code /}.
 *
 * <p>Every instance is valid: the canonical constructor, {@link #of} and {@link #parse} all
 * reject bad input with an {@link IllegalArgumentException} whose message names the bad part.
 * Immutable and thread-safe; equality is exact (IDs are case-sensitive in the path).
 *
 * @param trustDomain the trust domain name, e.g. {@code example.org}
 * @param path the path, e.g. {@code /ns/prod/sa/agent}, or {@code ""}
 */
public record SpiffeId(String trustDomain, String path) {

    static final String SCHEME_PREFIX = "spiffe://";
    /** The SPIFFE-ID specification asks verifiers to support URIs up to this many bytes. */
    static final int MAX_LENGTH = 2048;
    private static final int URI_SAN = 6;

    /**
     * Validates both parts.
     *
     * @throws NullPointerException if a part is null
     * @throws IllegalArgumentException if a part breaks the specification
     */
    public SpiffeId {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(path, "path");
        checkTrustDomain(trustDomain);
        checkPath(path);
        int length = SCHEME_PREFIX.length() + trustDomain.length() + path.length();
        if (length > MAX_LENGTH) {
            throw new IllegalArgumentException(
                    "SPIFFE ID too long: " + length + " bytes (expected: <= " + MAX_LENGTH + ")");
        }
    }

    /**
     * Parses a SPIFFE ID such as {@code spiffe://example.org/ns/prod/sa/agent}.
     *
     * @throws NullPointerException if {@code id} is null
     * @throws IllegalArgumentException naming the bad part if {@code id} is not a valid SPIFFE ID
     */
    public static SpiffeId parse(String id) {
        requireNonNull(id, "id");
        if (id.isEmpty()) {
            throw new IllegalArgumentException("SPIFFE ID is empty");
        }
        if (id.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("SPIFFE ID too long: " + id.length()
                    + " bytes (expected: <= " + MAX_LENGTH + ")");
        }
        if (!id.startsWith(SCHEME_PREFIX)) {
            int colon = id.indexOf(':');
            String scheme = colon < 0 ? "" : id.substring(0, colon);
            throw new IllegalArgumentException("invalid SPIFFE ID " + quote(id) + ": scheme "
                    + quote(scheme) + " (expected: \"spiffe://\" in lowercase)");
        }
        String rest = id.substring(SCHEME_PREFIX.length());
        int query = rest.indexOf('?');
        if (query >= 0) {
            throw new IllegalArgumentException("invalid SPIFFE ID " + quote(id)
                    + ": query " + quote(rest.substring(query)) + " not allowed");
        }
        int fragment = rest.indexOf('#');
        if (fragment >= 0) {
            throw new IllegalArgumentException("invalid SPIFFE ID " + quote(id)
                    + ": fragment " + quote(rest.substring(fragment)) + " not allowed");
        }
        int slash = rest.indexOf('/');
        String trustDomain = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "" : rest.substring(slash);
        try {
            return new SpiffeId(trustDomain, path);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid SPIFFE ID " + quote(id) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Builds a SPIFFE ID from its parts.
     *
     * @param trustDomain e.g. {@code example.org}
     * @param path {@code ""} or a path starting with {@code /}, e.g. {@code /sa/agent}
     * @throws NullPointerException if a part is null
     * @throws IllegalArgumentException naming the bad part if a part breaks the specification
     */
    public static SpiffeId of(String trustDomain, String path) {
        return new SpiffeId(trustDomain, path);
    }

    /**
     * Reads the SPIFFE ID of a leaf X.509-SVID: the certificate must carry exactly one URI SAN,
     * which must be a valid SPIFFE ID with a non-empty path. This method checks the ID only; chain,
     * CA flag and key usage are checked by the TLS verification of {@link TlsMaterial}.
     *
     * @throws CertificateException with the reason if the certificate is not a leaf SVID by these rules
     */
    public static SpiffeId fromCertificate(X509Certificate leaf) throws CertificateException {
        requireNonNull(leaf, "leaf");
        Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
        List<String> uris = new ArrayList<>();
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.size() >= 2 && Integer.valueOf(URI_SAN).equals(san.get(0))) {
                    uris.add(String.valueOf(san.get(1)));
                }
            }
        }
        if (uris.size() != 1) {
            throw new CertificateException("X509-SVID must have exactly one URI SAN (found "
                    + uris.size() + ")");
        }
        SpiffeId id;
        try {
            id = parse(uris.get(0));
        } catch (IllegalArgumentException e) {
            throw new CertificateException("URI SAN is not a valid SPIFFE ID: " + e.getMessage(), e);
        }
        if (id.path().isEmpty()) {
            throw new CertificateException("SPIFFE ID " + quote(id.uri())
                    + " of a leaf X509-SVID must have a path");
        }
        return id;
    }

    /** Returns {@code "spiffe://" + trustDomain + path}. */
    public String uri() {
        return SCHEME_PREFIX + trustDomain + path;
    }

    /** Returns {@link #uri()}. */
    @Override
    public String toString() {
        return uri();
    }

    /** Checks a trust domain name; package-private so {@link TrustBundles} uses the same rule. */
    static void checkTrustDomain(String td) {
        if (td.isEmpty()) {
            throw new IllegalArgumentException("trust domain is empty");
        }
        if (td.indexOf('@') >= 0) {
            throw new IllegalArgumentException("userinfo not allowed in trust domain " + quote(td));
        }
        if (td.indexOf(':') >= 0) {
            throw new IllegalArgumentException("port not allowed in trust domain " + quote(td));
        }
        for (int i = 0; i < td.length(); i++) {
            char c = td.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                throw new IllegalArgumentException("trust domain " + quote(td)
                        + " must be lowercase");
            }
            if (!isTrustDomainChar(c)) {
                throw new IllegalArgumentException("trust domain " + quote(td) + " contains "
                        + quote(String.valueOf(c)) + " (expected: [a-z0-9.-_])");
            }
        }
    }

    private static void checkPath(String path) {
        if (path.isEmpty()) {
            return;
        }
        if (path.charAt(0) != '/') {
            throw new IllegalArgumentException("path " + quote(path) + " must start with '/'");
        }
        int start = 1;
        while (true) {
            int end = path.indexOf('/', start);
            String segment = end < 0 ? path.substring(start) : path.substring(start, end);
            if (segment.isEmpty()) {
                throw new IllegalArgumentException(end < 0
                        ? "trailing slash not allowed in path " + quote(path)
                        : "empty segment not allowed in path " + quote(path));
            }
            if (segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("dot segment " + quote(segment)
                        + " not allowed in path " + quote(path));
            }
            for (int i = 0; i < segment.length(); i++) {
                char c = segment.charAt(i);
                if (c == '%') {
                    throw new IllegalArgumentException("percent-encoding not allowed in path "
                            + quote(path));
                }
                if (!isPathChar(c)) {
                    throw new IllegalArgumentException("path " + quote(path) + " contains "
                            + quote(String.valueOf(c)) + " (expected: [A-Za-z0-9.-_])");
                }
            }
            if (end < 0) {
                return;
            }
            start = end + 1;
        }
    }

    private static boolean isTrustDomainChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    }

    private static boolean isPathChar(char c) {
        return isTrustDomainChar(c) || (c >= 'A' && c <= 'Z');
    }

    /**
     * Quotes untrusted text (it often comes from a peer's certificate) for an error message:
     * control and non-ASCII characters are escaped so they cannot forge log lines, and long
     * values are cut.
     */
    static String quote(String s) {
        int limit = 256;
        StringBuilder b = new StringBuilder(Math.min(s.length(), limit) + 2).append('"');
        for (int i = 0; i < s.length() && i < limit; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (s.length() > limit) {
            b.append("...");
        }
        return b.append('"').toString();
    }
}
