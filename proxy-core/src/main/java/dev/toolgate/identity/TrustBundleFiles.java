package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Where the {@code files} identity source reads its X.509 trust bundles: optionally one PEM file for the sidecar's
 * own trust domain (the domain of its own SVID, known only once the SVID is read) and one PEM file per further
 * (federated) trust domain. {@link #load} turns them into {@link TrustBundles}, so each CA verifies only IDs of the
 * trust domain whose file it sits in.
 *
 * <p>The trust domain of a CA certificate: a SPIFFE CA may name its trust domain in a URI SAN
 * {@code spiffe://<trust domain>}. A CA whose SPIFFE URI SANs name another trust domain than the file it sits in
 * (or that do not parse as SPIFFE IDs) is refused at load, naming the file and the CA; a CA without a SPIFFE URI
 * SAN belongs to the trust domain of its file. This catches the mistake of concatenating the bundles of several
 * trust domains into one file, which would let a CA of one domain vouch for IDs of another.
 *
 * <p>Immutable and thread-safe; {@link #load} reads the files on every call.
 */
public final class TrustBundleFiles {
    private static final int URI_SAN = 6;

    private final Optional<Path> own;
    private final Map<String, Path> byTrustDomain;

    private TrustBundleFiles(Optional<Path> own, Map<String, Path> byTrustDomain) {
        this.own = own;
        this.byTrustDomain = byTrustDomain;
    }

    /**
     * Bundle files: {@code own} (may be null) for the sidecar's own trust domain, {@code byTrustDomain} (copied)
     * for the trust domains named by their keys. Together they must cover the sidecar's own trust domain, which
     * {@link #load} checks.
     *
     * @throws NullPointerException if the map, a key or a value is null
     * @throws IllegalArgumentException if both are empty, or a key is not a valid trust domain name
     */
    public static TrustBundleFiles of(Path own, Map<String, Path> byTrustDomain) {
        requireNonNull(byTrustDomain, "byTrustDomain");
        Map<String, Path> copy = new TreeMap<>();
        byTrustDomain.forEach((td, file) -> {
            requireNonNull(td, "trust domain");
            requireNonNull(file, "bundle file of " + td);
            SpiffeId.checkTrustDomain(td);
            copy.put(td, file);
        });
        if (own == null && copy.isEmpty()) {
            throw new IllegalArgumentException("no trust bundle file (expected: the own trust domain's bundle,"
                    + " bundles by trust domain, or both)");
        }
        return new TrustBundleFiles(Optional.ofNullable(own), Map.copyOf(copy));
    }

    /** The bundle of the sidecar's own trust domain only, in {@code file}. */
    public static TrustBundleFiles ownTrustDomain(Path file) {
        return of(requireNonNull(file, "file"), Map.of());
    }

    /** Every file, the own trust domain's first: what a watcher follows. */
    public List<Path> files() {
        List<Path> all = new ArrayList<>();
        own.ifPresent(all::add);
        all.addAll(new TreeMap<>(byTrustDomain).values());
        return List.copyOf(all);
    }

    /**
     * Reads every file and checks each CA against the trust domain of its file.
     *
     * @param ownTrustDomain the trust domain of the sidecar's own SVID
     * @throws IOException if a file cannot be read or is not PEM
     * @throws GeneralSecurityException if a file holds no certificate or a malformed one, a CA belongs to another
     *     trust domain than its file, the own trust domain has two files or none
     */
    public TrustBundles load(String ownTrustDomain) throws IOException, GeneralSecurityException {
        requireNonNull(ownTrustDomain, "ownTrustDomain");
        Map<String, List<X509Certificate>> bundles = new TreeMap<>();
        if (own.isPresent()) {
            bundles.put(ownTrustDomain, read(own.get(), ownTrustDomain,
                    "identity.bundle, the bundle of the sidecar's own trust domain " + SpiffeId.quote(ownTrustDomain)
                            + " only"));
        }
        for (Map.Entry<String, Path> e : new TreeMap<>(byTrustDomain).entrySet()) {
            String td = e.getKey();
            if (own.isPresent() && td.equals(ownTrustDomain)) {
                throw new GeneralSecurityException("trust domain " + SpiffeId.quote(td) + " has two bundles: "
                        + own.get() + " (bundle, the SVID's own trust domain) and " + e.getValue()
                        + " (bundles) (expected: one of them)");
            }
            bundles.put(td, read(e.getValue(), td, "the bundle of " + SpiffeId.quote(td) + " in identity.bundles"));
        }
        if (!bundles.containsKey(ownTrustDomain)) {
            throw new GeneralSecurityException("no trust bundle for the SVID's own trust domain "
                    + SpiffeId.quote(ownTrustDomain) + " (bundles has " + byTrustDomain.keySet()
                    + "; expected: bundle, or bundles with an entry for " + SpiffeId.quote(ownTrustDomain) + ")");
        }
        try {
            return TrustBundles.of(bundles);
        } catch (IllegalArgumentException e) {
            throw new GeneralSecurityException(e.getMessage(), e);
        }
    }

    private static List<X509Certificate> read(Path file, String td, String what)
            throws IOException, GeneralSecurityException {
        List<X509Certificate> cas = TrustBundles.loadPem(file);
        for (X509Certificate ca : cas) {
            checkTrustDomain(ca, td, file, what);
        }
        return cas;
    }

    /** Refuses a CA whose SPIFFE URI SANs name another trust domain than {@code td} (or do not parse). */
    private static void checkTrustDomain(X509Certificate ca, String td, Path file, String what) throws CertificateException {
        for (String uri : spiffeUris(ca, file)) {
            String found;
            try {
                found = SpiffeId.parse(uri).trustDomain();
            } catch (IllegalArgumentException e) {
                throw new CertificateException(file + ": CA " + describe(ca) + " has URI SAN " + SpiffeId.quote(uri)
                        + " that is not a valid SPIFFE ID (" + e.getMessage() + "; expected: spiffe://"
                        + td + " or no SPIFFE URI SAN)", e);
            }
            if (!found.equals(td)) {
                throw new CertificateException(file + ": CA " + describe(ca) + " belongs to trust domain "
                        + SpiffeId.quote(found) + " (URI SAN " + SpiffeId.quote(uri) + "), but this file is " + what
                        + " (a CA may only vouch for IDs of its own trust domain; expected: a file of its own under"
                        + " identity.bundles)");
            }
        }
    }

    private static List<String> spiffeUris(X509Certificate ca, Path file) throws CertificateParsingException {
        Collection<List<?>> sans;
        try {
            sans = ca.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new CertificateParsingException(file + ": CA " + describe(ca) + ": " + e.getMessage(), e);
        }
        List<String> uris = new ArrayList<>();
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.size() >= 2 && Integer.valueOf(URI_SAN).equals(san.get(0))) {
                    String uri = String.valueOf(san.get(1));
                    // Schemes are case-insensitive: "SPIFFE://" is a SPIFFE URI, and parse refuses it (fail closed).
                    if (uri.toLowerCase(Locale.ROOT).startsWith("spiffe:")) {
                        uris.add(uri);
                    }
                }
            }
        }
        return uris;
    }

    private static String describe(X509Certificate ca) {
        return SpiffeId.quote(ca.getSubjectX500Principal().getName()) + " (serial "
                + ca.getSerialNumber().toString(16) + ")";
    }

    @Override
    public String toString() {
        return "TrustBundleFiles{own=" + own.map(Path::toString).orElse("-") + ", byTrustDomain=" + byTrustDomain + "}";
    }
}
