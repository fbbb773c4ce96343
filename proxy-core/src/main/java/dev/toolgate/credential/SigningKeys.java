package dev.toolgate.credential;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import java.util.ArrayList;
import java.util.List;

/**
 * The sidecar's keys for signing task JWTs: EC P-256 (ES256), each with a {@code kid} that is its RFC 7638 JWK
 * thumbprint. {@link #rotate()} makes a new current key and keeps the previous public key published, so JWTs it
 * signed still verify until they expire; only the last two keys are kept, so rotate at most once per longest
 * credential {@code ttl}. Private keys live in memory only and are never rendered.
 *
 * <p>Thread-safe: readers see one consistent snapshot; rotations are serialized.
 */
public final class SigningKeys {
    private volatile Snapshot snapshot;

    private SigningKeys(Snapshot snapshot) {
        this.snapshot = snapshot;
    }

    /**
     * A fresh current key and nothing else published.
     *
     * @throws IllegalStateException if the JDK cannot generate a P-256 key
     */
    public static SigningKeys generate() {
        return new SigningKeys(Snapshot.of(newKey(), List.of()));
    }

    /**
     * Makes a new current key; the previous one stays published (for verification only), older ones are dropped.
     *
     * @throws IllegalStateException if the JDK cannot generate a P-256 key
     */
    public synchronized void rotate() {
        Snapshot old = snapshot;
        snapshot = Snapshot.of(newKey(), List.of(old.current.publicKey()));
    }

    /** The JWKS document ({@code {"keys":[...]}}) of every published public key, the current one first. */
    public String jwksJson() {
        return snapshot.jwks;
    }

    /** The key new JWTs are signed with. */
    SigningKey current() {
        return snapshot.current;
    }

    private static ECKey newKey() {
        try {
            return new ECKeyGenerator(Curve.P_256)
                    .keyUse(KeyUse.SIGNATURE)
                    .algorithm(JWSAlgorithm.ES256)
                    .keyIDFromThumbprint(true)
                    .generate();
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot generate an EC P-256 signing key", e);
        }
    }

    /** A private key ready to sign, with its {@code kid} and public half. */
    record SigningKey(String kid, JWSSigner signer, ECKey publicKey) {
        static SigningKey of(ECKey key) {
            try {
                return new SigningKey(key.getKeyID(), new ECDSASigner(key), key.toPublicJWK());
            } catch (JOSEException e) {
                throw new IllegalStateException("cannot use the EC signing key " + key.getKeyID(), e);
            }
        }

        @Override
        public String toString() {
            return "SigningKey[kid=" + kid + "]";
        }
    }

    /** The current key and the public keys published beside it, with their JWKS rendered once. */
    private static final class Snapshot {
        final SigningKey current;
        final String jwks;

        private Snapshot(SigningKey current, String jwks) {
            this.current = current;
            this.jwks = jwks;
        }

        static Snapshot of(ECKey key, List<ECKey> previous) {
            SigningKey current = SigningKey.of(key);
            List<JWK> published = new ArrayList<>();
            published.add(current.publicKey());
            published.addAll(previous);
            // toString() renders public parameters only; the list holds public keys anyway.
            return new Snapshot(current, new JWKSet(published).toString());
        }
    }
}
