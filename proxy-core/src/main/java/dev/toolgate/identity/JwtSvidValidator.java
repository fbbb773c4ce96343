package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Validates a JWT-SVID (SPIFFE JWT-SVID standard) presented by a caller, with explicit rules rather than a JOSE
 * library's defaults:
 * <ol>
 * <li>compact JWS serialization only (three base64url parts; no JWE, no unsecured JWT), at most
 *     {@value #MAX_TOKEN_CHARS} characters;</li>
 * <li>{@code alg} one of RS256/384/512, ES256/384/512, PS256/384/512: never {@code none} and never HS*
 *     (an HMAC "signed" with the public key as its secret would otherwise verify);</li>
 * <li>{@code typ}, if present, {@code JWT} or {@code JOSE}; no {@code crit} header (no extension is understood);
 *     a {@code kid} naming the signing key;</li>
 * <li>{@code sub} a valid SPIFFE ID with a path (the caller's identity);</li>
 * <li>the key: the one with that {@code kid} in the JWT bundle of the <em>subject's own</em> trust domain, of the
 *     type the algorithm needs (RSA for RS/PS, EC on the matching curve for ES); the signature verifies with it;</li>
 * <li>{@code exp} present and not passed (beyond the leeway); {@code nbf}, if present, reached (within the
 *     leeway);</li>
 * <li>{@code aud} present and containing the configured audience.</li>
 * </ol>
 * The first rule that fails is the reason of the {@link InvalidJwtSvidException}; no message ever contains the
 * token. Immutable and thread-safe.
 */
public final class JwtSvidValidator {
    /** Longest token accepted (SPIRE's JWT-SVIDs are well under 2 KiB). */
    public static final int MAX_TOKEN_CHARS = 8192;
    /** Longest leeway allowed for clock skew. */
    public static final Duration MAX_LEEWAY = Duration.ofMinutes(5);

    private static final Set<JWSAlgorithm> ALLOWED = Set.of(
            JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512);

    private final JwtBundles bundles;
    private final String audience;
    private final Duration leeway;
    private final Clock clock;

    private JwtSvidValidator(JwtBundles bundles, String audience, Duration leeway, Clock clock) {
        this.bundles = bundles;
        this.audience = audience;
        this.leeway = leeway;
        this.clock = clock;
    }

    /**
     * A validator accepting tokens for {@code audience}, signed by keys of {@code bundles}.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the audience is blank or the leeway negative or over {@link #MAX_LEEWAY}
     */
    public static JwtSvidValidator of(JwtBundles bundles, String audience, Duration leeway, Clock clock) {
        requireNonNull(bundles, "bundles");
        requireNonNull(audience, "audience");
        requireNonNull(leeway, "leeway");
        requireNonNull(clock, "clock");
        if (audience.isBlank()) {
            throw new IllegalArgumentException("audience: \"\" (expected: the audience JWT-SVIDs must be issued for)");
        }
        if (leeway.isNegative() || leeway.compareTo(MAX_LEEWAY) > 0) {
            throw new IllegalArgumentException("leeway: " + leeway + " (expected: 0s.." + MAX_LEEWAY.toMinutes() + "m)");
        }
        return new JwtSvidValidator(bundles, audience, leeway, clock);
    }

    /** The audience a token must name. */
    public String audience() {
        return audience;
    }

    /**
     * Validates {@code token} (the credentials of an {@code Authorization: Bearer} header).
     *
     * @return the verified SPIFFE ID of the token's subject
     * @throws NullPointerException if {@code token} is null
     * @throws InvalidJwtSvidException naming the rule that failed
     */
    public SpiffeId validate(String token) throws InvalidJwtSvidException {
        requireNonNull(token, "token");
        if (token.length() > MAX_TOKEN_CHARS) {
            throw new InvalidJwtSvidException("token of " + token.length() + " characters (expected: <= "
                    + MAX_TOKEN_CHARS + ")");
        }
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty()) {
            throw new InvalidJwtSvidException("not a JWS in compact serialization (expected: header.payload.signature)");
        }
        Header header;
        try {
            header = Header.parse(new Base64URL(parts[0]));
        } catch (ParseException e) {
            throw new InvalidJwtSvidException("malformed JOSE header: " + e.getMessage());
        }
        String alg = header.getAlgorithm() == null ? null : header.getAlgorithm().getName();
        if (!(header instanceof JWSHeader jws) || !ALLOWED.contains(jws.getAlgorithm())) {
            throw new InvalidJwtSvidException("alg " + quote(alg)
                    + " not allowed (expected: RS256/384/512, ES256/384/512 or PS256/384/512)");
        }
        JOSEObjectType typ = jws.getType();
        if (typ != null && !typ.equals(JOSEObjectType.JWT) && !typ.equals(JOSEObjectType.JOSE)) {
            throw new InvalidJwtSvidException("typ " + quote(typ.getType()) + " (expected: JWT or JOSE, or none)");
        }
        if (jws.getCriticalParams() != null && !jws.getCriticalParams().isEmpty()) {
            throw new InvalidJwtSvidException("crit header " + jws.getCriticalParams() + " not understood");
        }
        String kid = jws.getKeyID();
        if (kid == null || kid.isEmpty()) {
            throw new InvalidJwtSvidException("no kid header (expected: the ID of the signing key in the JWT bundle)");
        }
        SignedJWT jwt;
        JWTClaimsSet claims;
        try {
            jwt = SignedJWT.parse(token);
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new InvalidJwtSvidException("malformed token: " + e.getMessage());
        }
        SpiffeId subject = subject(claims.getSubject());
        Map<String, PublicKey> keys = bundles.keys(subject.trustDomain());
        if (keys == null) {
            throw new InvalidJwtSvidException("no JWT bundle for trust domain " + SpiffeId.quote(subject.trustDomain())
                    + " of subject " + subject + " (unknown trust domain)");
        }
        PublicKey key = keys.get(kid);
        if (key == null) {
            throw new InvalidJwtSvidException("kid " + quote(kid) + " is not in the JWT bundle of "
                    + SpiffeId.quote(subject.trustDomain()) + " (unknown key)");
        }
        verify(jwt, jws.getAlgorithm(), key, kid);
        Instant now = clock.instant();
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            throw new InvalidJwtSvidException("no exp claim (expected: an expiry)");
        }
        if (now.isAfter(exp.toInstant().plus(leeway))) {
            throw new InvalidJwtSvidException("expired at " + exp.toInstant() + " (now " + now + ", leeway " + leeway
                    + ")");
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(leeway).isBefore(nbf.toInstant())) {
            throw new InvalidJwtSvidException("not valid before " + nbf.toInstant() + " (now " + now + ", leeway "
                    + leeway + ")");
        }
        List<String> aud = claims.getAudience();
        if (aud == null || aud.isEmpty()) {
            throw new InvalidJwtSvidException("no aud claim (expected: one naming " + quote(audience) + ")");
        }
        if (!aud.contains(audience)) {
            throw new InvalidJwtSvidException("aud " + abbreviate(aud.toString()) + " does not contain "
                    + quote(audience));
        }
        return subject;
    }

    private static SpiffeId subject(String sub) throws InvalidJwtSvidException {
        if (sub == null) {
            throw new InvalidJwtSvidException("no sub claim (expected: the caller's SPIFFE ID)");
        }
        SpiffeId id;
        try {
            id = SpiffeId.parse(sub);
        } catch (IllegalArgumentException e) {
            throw new InvalidJwtSvidException("sub is not a SPIFFE ID: " + abbreviate(e.getMessage()));
        }
        if (id.path().isEmpty()) {
            throw new InvalidJwtSvidException("sub " + id + " has no path (expected: a workload's SPIFFE ID)");
        }
        return id;
    }

    /** Verifies with a verifier chosen here for the key and algorithm, never by the token. */
    private static void verify(SignedJWT jwt, JWSAlgorithm alg, PublicKey key, String kid)
            throws InvalidJwtSvidException {
        JWSVerifier verifier;
        try {
            if (JWSAlgorithm.Family.RSA.contains(alg)) {
                if (!(key instanceof RSAPublicKey rsa)) {
                    throw new InvalidJwtSvidException("alg " + alg + " needs an RSA key; key " + quote(kid) + " is "
                            + key.getAlgorithm());
                }
                verifier = new RSASSAVerifier(rsa);
            } else {
                if (!(key instanceof ECPublicKey ec)) {
                    throw new InvalidJwtSvidException("alg " + alg + " needs an EC key; key " + quote(kid) + " is "
                            + key.getAlgorithm());
                }
                Curve curve = Curve.forECParameterSpec(ec.getParams());
                Set<Curve> curves = Curve.forJWSAlgorithm(alg);
                if (curve == null || curves == null || !curves.contains(curve)) {
                    throw new InvalidJwtSvidException("alg " + alg + " does not match the curve " + curve + " of key "
                            + quote(kid));
                }
                verifier = new ECDSAVerifier(ec);
            }
            if (!jwt.verify(verifier)) {
                throw new InvalidJwtSvidException("signature does not verify with key " + quote(kid));
            }
        } catch (JOSEException | RuntimeException e) {
            // A library failure on hostile input must refuse the token, never pass it or escape as another error.
            throw new InvalidJwtSvidException("signature cannot be verified with key " + quote(kid) + ": "
                    + e.getMessage(), e);
        }
    }

    private static String quote(String s) {
        return s == null ? "(none)" : "\"" + abbreviate(s) + "\"";
    }

    private static String abbreviate(String s) {
        return s.length() <= 128 ? s : s.substring(0, 128) + "...";
    }

    @Override
    public String toString() {
        return "JwtSvidValidator{audience=" + audience + ", leeway=" + leeway + "}";
    }
}
