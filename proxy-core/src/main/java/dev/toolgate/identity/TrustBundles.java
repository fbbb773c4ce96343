package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * X.509 trust bundles (the CA certificates that may sign SVIDs) keyed by trust domain. A peer's
 * chain is verified only against the bundle of the trust domain in its own SPIFFE ID, so a
 * trusted CA of one domain cannot vouch for an ID of another.
 *
 * <p>Immutable and thread-safe. Rotation replaces the whole instance.
 */
public final class TrustBundles {

    private final Map<String, List<X509Certificate>> byTrustDomain;

    private TrustBundles(Map<String, List<X509Certificate>> byTrustDomain) {
        this.byTrustDomain = byTrustDomain;
    }

    /**
     * Creates bundles from a map of trust domain name to CA certificates (copied).
     *
     * @throws NullPointerException if the map, a key, a list or a certificate is null
     * @throws IllegalArgumentException if the map is empty, a key is not a valid trust domain
     *     name, or a bundle is empty
     */
    public static TrustBundles of(Map<String, List<X509Certificate>> byTrustDomain) {
        requireNonNull(byTrustDomain, "byTrustDomain");
        if (byTrustDomain.isEmpty()) {
            throw new IllegalArgumentException("no trust bundle (expected: at least one trust domain)");
        }
        Map<String, List<X509Certificate>> copy = new TreeMap<>();
        byTrustDomain.forEach((td, certs) -> {
            requireNonNull(td, "trust domain");
            requireNonNull(certs, "certificates of " + td);
            SpiffeId.checkTrustDomain(td);
            List<X509Certificate> list = List.copyOf(certs);
            if (list.isEmpty()) {
                throw new IllegalArgumentException("trust bundle of " + SpiffeId.quote(td)
                        + " is empty (expected: at least one CA certificate)");
            }
            copy.put(td, list);
        });
        return new TrustBundles(Map.copyOf(copy));
    }

    /**
     * Creates bundles for a single trust domain.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException as {@link #of}
     */
    public static TrustBundles single(String trustDomain, List<X509Certificate> cas) {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(cas, "cas");
        return of(Map.of(trustDomain, cas));
    }

    /**
     * Reads every CERTIFICATE block of a PEM file.
     *
     * @return the certificates in file order; never empty
     * @throws IOException if the file cannot be read or is not PEM
     * @throws GeneralSecurityException if the file holds no certificate or a certificate is malformed
     */
    public static List<X509Certificate> loadPem(Path pem) throws IOException, GeneralSecurityException {
        return Pem.readCertificates(requireNonNull(pem, "pem"));
    }

    /**
     * Writes certificates as PEM (atomic replace, parent directories created).
     *
     * @throws IOException if the file cannot be written
     */
    public static void writePem(Path pem, List<X509Certificate> certs) throws IOException {
        requireNonNull(pem, "pem");
        Pem.write(pem, Pem.encodeCertificates(List.copyOf(requireNonNull(certs, "certs"))), false);
    }

    /** The CA certificates of {@code td}, or empty if that trust domain is not trusted. */
    public Optional<List<X509Certificate>> forTrustDomain(String td) {
        return Optional.ofNullable(byTrustDomain.get(requireNonNull(td, "td")));
    }

    /** The trusted trust domain names; unmodifiable. */
    public Set<String> trustDomains() {
        return byTrustDomain.keySet();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("TrustBundles{");
        new TreeMap<>(byTrustDomain).forEach((td, certs) -> b.append(td).append('=').append(certs.size()).append(" CA(s) "));
        return b.append('}').toString();
    }
}
