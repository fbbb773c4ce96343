package dev.toolgate.testing;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Crafts JWT-SVIDs for tests (nimbus-jose-jwt over BouncyCastle keys): well-formed ones and every malformed shape
 * the JWT-SVID rules refuse.
 */
public final class TestJwts {
    private static final BouncyCastleProvider BC = new BouncyCastleProvider();

    private TestJwts() {}

    /** A signing key with its key ID and the algorithm it signs with. */
    public record Key(String kid, JWSAlgorithm alg, KeyPair pair) {
        public PublicKey publicKey() {
            return pair.getPublic();
        }

        /** This key alone, as a trust domain's JWT bundle (kid -> key). */
        public Map<String, PublicKey> bundle() {
            return Map.of(kid, pair.getPublic());
        }
    }

    /** An EC key on the curve of {@code alg} (ES256: P-256, ES384: P-384, ES512: P-521). */
    public static Key ec(String kid, JWSAlgorithm alg) throws Exception {
        String curve = alg.equals(JWSAlgorithm.ES256) ? "secp256r1" : alg.equals(JWSAlgorithm.ES384) ? "secp384r1"
                : "secp521r1";
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC", BC);
        g.initialize(new ECGenParameterSpec(curve));
        return new Key(kid, alg, g.generateKeyPair());
    }

    public static Key ec256(String kid) throws Exception {
        return ec(kid, JWSAlgorithm.ES256);
    }

    /** An RSA 2048 key for RS* or PS*. */
    public static Key rsa(String kid, JWSAlgorithm alg) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", BC);
        g.initialize(2048);
        return new Key(kid, alg, g.generateKeyPair());
    }

    /** Claims of a JWT-SVID: {@code sub}, {@code aud}, {@code exp}; add more on the builder. */
    public static JWTClaimsSet.Builder claims(String sub, String aud, Instant exp) {
        JWTClaimsSet.Builder b = new JWTClaimsSet.Builder().subject(sub);
        if (aud != null) {
            b.audience(aud);
        }
        if (exp != null) {
            b.expirationTime(Date.from(exp));
        }
        return b;
    }

    /** The header a JWT-SVID issuer writes: the key's alg, its kid, typ JWT. */
    public static JWSHeader.Builder header(Key key) {
        return new JWSHeader.Builder(key.alg()).keyID(key.kid()).type(JOSEObjectType.JWT);
    }

    public static String sign(Key key, JWTClaimsSet claims) throws Exception {
        return sign(key, header(key).build(), claims);
    }

    public static String sign(Key key, JWSHeader header, JWTClaimsSet claims) throws Exception {
        PrivateKey priv = key.pair().getPrivate();
        JWSSigner signer = priv instanceof ECPrivateKey ec ? new ECDSASigner(ec) : new RSASSASigner(priv);
        SignedJWT jwt = new SignedJWT(header, claims);
        jwt.sign(signer);
        return jwt.serialize();
    }

    /** An unsecured JWT ({@code alg: none}, empty signature) naming {@code kid}. */
    public static String none(String kid, JWTClaimsSet claims) {
        PlainHeader h = new PlainHeader.Builder().type(JOSEObjectType.JWT).customParam("kid", kid).build();
        return new PlainJWT(h, claims).serialize();
    }

    /**
     * The classic key-confusion attack: HS256 "signed" with the bytes of the public key as the HMAC secret, in the
     * hope that the validator verifies HS256 with the key it finds under {@code kid}.
     */
    public static String hs256WithPublicKey(Key key, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(key.kid())
                .type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(new MACSigner(key.publicKey().getEncoded()));
        return jwt.serialize();
    }

    /** The token with its payload replaced by {@code forged} claims, keeping the original header and signature. */
    public static String withPayload(String token, JWTClaimsSet forged) {
        String[] parts = token.split("\\.");
        return parts[0] + "." + Base64URL.encode(forged.toString()) + "." + parts[2];
    }
}
