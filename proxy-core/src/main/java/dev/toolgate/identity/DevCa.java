package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Map;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.text.ParseException;

/**
 * A built-in development certificate authority that mints X.509-SVIDs for one trust domain. For
 * the demo and tests only: its key sits unencrypted in a file and nothing revokes what it issues.
 * Production identities come from SPIRE or files.
 *
 * <p>The CA is an ECDSA P-256 self-signed root (basicConstraints CA=true and keyUsage
 * keyCertSign+cRLSign, both critical; URI SAN {@code spiffe://<trust domain>}; valid one year)
 * kept as {@code ca.pem} and {@code ca.key} (owner-only) in a state directory. It also keeps a JWT-SVID signing
 * key ({@code jwt.jwk}, owner-only, EC P-256, {@code kid} = its RFC 7638 thumbprint; created on first use of a
 * state directory that lacks it) whose public half is the trust domain's JWT bundle ({@link #jwtBundles()},
 * {@link #jwks()}), so the demo and tests can mint JWT-SVIDs ({@link #mintJwtSvid}).
 *
 * <p>Immutable and thread-safe; {@link #openOrCreate} is not safe against another process
 * creating the same directory at the same time.
 */
public final class DevCa {

    static final String CA_CERT = "ca.pem";
    static final String CA_KEY = "ca.key";
    static final String JWT_KEY = "jwt.jwk";
    static final Duration CA_VALIDITY = Duration.ofDays(365);
    static final Duration BACKDATE = Duration.ofMinutes(1);
    static final Duration DEFAULT_TTL = Duration.ofHours(24);
    private static final int URI_SAN = 6;

    private final String trustDomain;
    private final X509Certificate certificate;
    private final PrivateKey key;
    private final TrustBundles bundles;
    private final ECKey jwtKey;

    private DevCa(String trustDomain, X509Certificate certificate, PrivateKey key, ECKey jwtKey) {
        this.trustDomain = trustDomain;
        this.certificate = certificate;
        this.key = key;
        this.bundles = TrustBundles.single(trustDomain, List.of(certificate));
        this.jwtKey = jwtKey;
    }

    /**
     * Opens the CA kept in {@code stateDir} or, if neither file exists, creates one there
     * (creating directories).
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code trustDomain} is not a valid trust domain name, or
     *     the existing CA belongs to another trust domain
     * @throws IOException if only one of the two files exists, or a file cannot be read or written
     * @throws GeneralSecurityException if the files do not hold a matching certificate and key, or
     *     the existing CA has expired
     */
    public static DevCa openOrCreate(Path stateDir, String trustDomain) throws IOException, GeneralSecurityException {
        requireNonNull(stateDir, "stateDir");
        requireNonNull(trustDomain, "trustDomain");
        SpiffeId.checkTrustDomain(trustDomain);
        Path certFile = stateDir.resolve(CA_CERT);
        Path keyFile = stateDir.resolve(CA_KEY);
        boolean hasCert = Files.exists(certFile);
        boolean hasKey = Files.exists(keyFile);
        if (hasCert != hasKey) {
            throw new IOException("dev CA in " + stateDir + " is incomplete: found only "
                    + (hasCert ? CA_CERT : CA_KEY) + " (remove it to create a new CA)");
        }
        return hasCert ? open(certFile, keyFile, trustDomain) : create(certFile, keyFile, trustDomain);
    }

    private static DevCa open(Path certFile, Path keyFile, String trustDomain) throws IOException, GeneralSecurityException {
        X509Certificate cert = Pem.readCertificates(certFile).get(0);
        PrivateKey key = Pem.readPrivateKey(keyFile);
        Keys.checkMatches(key, cert);
        SpiffeId caId = caId(cert, certFile);
        if (!caId.trustDomain().equals(trustDomain)) {
            throw new IllegalArgumentException("dev CA in " + certFile.getParent() + " is for trust domain "
                    + SpiffeId.quote(caId.trustDomain()) + " (expected: " + SpiffeId.quote(trustDomain) + ")");
        }
        if (cert.getNotAfter().toInstant().isBefore(Instant.now())) {
            throw new CertificateExpiredException("dev CA " + certFile + " expired at " + cert.getNotAfter().toInstant()
                    + " (remove " + CA_CERT + " and " + CA_KEY + " to create a new CA)");
        }
        return new DevCa(trustDomain, cert, key, jwtKey(certFile.resolveSibling(JWT_KEY)));
    }

    /** The JWT-SVID signing key of the state directory, created if missing. */
    private static ECKey jwtKey(Path file) throws IOException, GeneralSecurityException {
        if (Files.exists(file)) {
            try {
                ECKey k = ECKey.parse(Files.readString(file));
                if (!k.isPrivate() || !Curve.P_256.equals(k.getCurve())) {
                    throw new GeneralSecurityException(file + " is not a private EC P-256 JWK");
                }
                return k;
            } catch (ParseException e) {
                throw new GeneralSecurityException(file + " is not a JWK: " + e.getMessage(), e);
            }
        }
        ECKey k;
        try {
            k = new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.ES256)
                    .keyIDFromThumbprint(true).generate();
        } catch (JOSEException e) {
            throw new GeneralSecurityException("cannot generate the dev CA's JWT signing key", e);
        }
        Pem.write(file, k.toJSONString(), true);
        return k;
    }

    private static SpiffeId caId(X509Certificate cert, Path certFile) throws CertificateException {
        Collection<List<?>> sans = cert.getSubjectAlternativeNames();
        if (sans != null) {
            for (List<?> san : sans) {
                if (Integer.valueOf(URI_SAN).equals(san.get(0))) {
                    try {
                        return SpiffeId.parse(String.valueOf(san.get(1)));
                    } catch (IllegalArgumentException e) {
                        throw new CertificateException(certFile + ": " + e.getMessage(), e);
                    }
                }
            }
        }
        throw new CertificateException(certFile + " has no spiffe:// URI SAN naming its trust domain");
    }

    private static DevCa create(Path certFile, Path keyFile, String trustDomain) throws IOException, GeneralSecurityException {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        KeyPair keys = CertificateMint.newP256KeyPair();
        X509Certificate cert = CertificateMint.selfSignedCa(keys, SpiffeId.of(trustDomain, ""),
                now.minus(BACKDATE), now.plus(CA_VALIDITY));
        // Key first: a crash in between leaves "only ca.key", which openOrCreate reports.
        Pem.write(keyFile, Pem.encodePrivateKey(keys.getPrivate()), true);
        Pem.write(certFile, Pem.encodeCertificates(List.of(cert)), false);
        return new DevCa(trustDomain, cert, keys.getPrivate(), jwtKey(certFile.resolveSibling(JWT_KEY)));
    }

    /** The trust domain whose SVIDs this CA issues. */
    public String trustDomain() {
        return trustDomain;
    }

    /** The self-signed CA certificate. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** A bundle set holding only this CA for its trust domain. */
    public TrustBundles bundles() {
        return bundles;
    }

    /** The JWT bundle of this trust domain: the public half of the JWT signing key, by its {@code kid}. */
    public JwtBundles jwtBundles() {
        try {
            return JwtBundles.of(Map.of(trustDomain, Map.of(jwtKey.getKeyID(), jwtKey.toECPublicKey())));
        } catch (JOSEException e) {
            throw new IllegalStateException("the dev CA's JWT key is unusable", e);
        }
    }

    /** The JWT bundle as a JWKS document ({@code use: jwt-svid}), as a SPIFFE bundle endpoint would publish it. */
    public String jwks() {
        Map<String, Object> jwk = new java.util.LinkedHashMap<>(jwtKey.toPublicJWK().toJSONObject());
        jwk.put("use", "jwt-svid");
        return com.nimbusds.jose.util.JSONObjectUtils.toJSONString(Map.of("keys", List.of(jwk)));
    }

    /**
     * Mints a JWT-SVID (ES256, {@code typ: JWT}, {@code kid} of the JWT key): {@code sub} = {@code id}, {@code aud}
     * = {@code audience}, {@code iat} now, {@code exp} now + {@code ttl}.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code id} is not in this trust domain or has no path, or {@code ttl} is
     *     not positive
     */
    public String mintJwtSvid(SpiffeId id, String audience, Duration ttl) {
        requireNonNull(id, "id");
        requireNonNull(audience, "audience");
        requireNonNull(ttl, "ttl");
        if (!id.trustDomain().equals(trustDomain) || id.path().isEmpty()) {
            throw new IllegalArgumentException("SPIFFE ID " + id + " (expected: a workload ID in trust domain "
                    + SpiffeId.quote(trustDomain) + ")");
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0)");
        }
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject(id.uri()).audience(audience)
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(ttl))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT)
                .keyID(jwtKey.getKeyID()).build(), claims);
        try {
            jwt.sign(new ECDSASigner(jwtKey));
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign a JWT-SVID with the dev CA's key", e);
        }
        return jwt.serialize();
    }

    /**
     * Mints an X.509-SVID: a new ECDSA P-256 key; a leaf with exactly one URI SAN (the ID) plus the
     * given DNS and IP SANs; basicConstraints CA=false and keyUsage digitalSignature, both critical;
     * extendedKeyUsage serverAuth and clientAuth; a random 128-bit serial; valid from one minute ago
     * for {@code ttl}, but never past the CA's own expiry. The chain holds the leaf only.
     *
     * @throws NullPointerException if an argument or list element is null
     * @throws IllegalArgumentException if {@code id} is not in this trust domain or has no path,
     *     {@code ttl} is not positive, or a DNS name or IP address is malformed
     * @throws GeneralSecurityException if key generation or signing fails
     */
    public Svid issue(SpiffeId id, Duration ttl, List<String> dnsNames, List<String> ipAddresses)
            throws GeneralSecurityException {
        requireNonNull(id, "id");
        requireNonNull(ttl, "ttl");
        List<String> dns = List.copyOf(requireNonNull(dnsNames, "dnsNames"));
        List<String> ips = List.copyOf(requireNonNull(ipAddresses, "ipAddresses"));
        if (!id.trustDomain().equals(trustDomain)) {
            throw new IllegalArgumentException("SPIFFE ID " + id + " is not in trust domain "
                    + SpiffeId.quote(trustDomain) + " of this dev CA");
        }
        if (id.path().isEmpty()) {
            throw new IllegalArgumentException("SPIFFE ID " + id + " has no path (required for an SVID)");
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0)");
        }
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        Instant notAfter = now.plus(ttl);
        Instant caNotAfter = certificate.getNotAfter().toInstant();
        if (notAfter.isAfter(caNotAfter)) {
            notAfter = caNotAfter;
        }
        KeyPair keys = CertificateMint.newP256KeyPair();
        X509Certificate leaf = CertificateMint.leaf(certificate, key, keys, id, now.minus(BACKDATE), notAfter, dns, ips);
        return Svid.of(List.of(leaf), keys.getPrivate());
    }

    /**
     * Mints an SVID valid for 24 hours with DNS SAN {@code localhost} and IP SANs {@code 127.0.0.1}
     * and {@code ::1}, so plain TLS clients such as curl can also verify a local sidecar.
     *
     * @throws IllegalArgumentException if {@code id} is not in this trust domain or has no path
     * @throws GeneralSecurityException if key generation or signing fails
     */
    public Svid issue(SpiffeId id) throws GeneralSecurityException {
        return issue(id, DEFAULT_TTL, List.of("localhost"), List.of("127.0.0.1", "::1"));
    }

    /**
     * Mints an SVID with {@link #issue(SpiffeId)} and writes {@code svid.pem} (chain),
     * {@code svid.key} (PKCS#8, owner-only) and {@code bundle.pem} (this CA) into {@code dir},
     * creating it.
     *
     * @return {@code dir}
     * @throws IllegalArgumentException as {@link #issue(SpiffeId)}
     * @throws IOException if a file cannot be written
     * @throws GeneralSecurityException if key generation or signing fails
     */
    public Path issueTo(SpiffeId id, Path dir) throws IOException, GeneralSecurityException {
        requireNonNull(dir, "dir");
        Svid svid = issue(id);
        Files.createDirectories(dir);
        svid.writeTo(dir.resolve("svid.pem"), dir.resolve("svid.key"));
        TrustBundles.writePem(dir.resolve("bundle.pem"), List.of(certificate));
        return dir;
    }

    @Override
    public String toString() {
        return "DevCa{trustDomain=" + trustDomain + ", notAfter=" + certificate.getNotAfter().toInstant() + "}";
    }
}
