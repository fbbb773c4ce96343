package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.JOSEException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.text.ParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.LoggerFactory;

/**
 * JWT bundles: the public keys that may sign JWT-SVIDs, by trust domain and key ID ({@code kid}). A JWT-SVID is
 * verified only with a key of the bundle of its own subject's trust domain, as an X.509-SVID only with the CAs of
 * its own.
 *
 * <p>Implementations are thread-safe; a rotating source (the SPIRE Workload API) answers each lookup from the
 * latest bundles it has.
 */
public interface JwtBundles {

    /**
     * The keys of {@code trustDomain} by key ID, or null when that trust domain has no JWT bundle (it is not
     * trusted for JWT-SVIDs). The map is not to be modified.
     */
    Map<String, PublicKey> keys(String trustDomain);

    /** No bundle at all: every JWT-SVID is refused (fail closed). */
    static JwtBundles none() {
        return td -> null;
    }

    /**
     * Fixed bundles (copied).
     *
     * @throws NullPointerException if a trust domain, key ID or key is null
     * @throws IllegalArgumentException if a trust domain name is not valid
     */
    static JwtBundles of(Map<String, Map<String, PublicKey>> byTrustDomain) {
        Map<String, Map<String, PublicKey>> copy = new HashMap<>();
        byTrustDomain.forEach((td, keys) -> {
            SpiffeId.checkTrustDomain(requireNonNull(td, "trust domain"));
            copy.put(td, Map.copyOf(keys));
        });
        Map<String, Map<String, PublicKey>> fixed = Map.copyOf(copy);
        return fixed::get;
    }

    /**
     * Reads JWKS files (a SPIFFE bundle or a plain JSON Web Key Set) by trust domain: every EC or RSA key with a
     * {@code kid} whose {@code use} is absent or {@code jwt-svid}; other keys (X.509 authorities, symmetric keys,
     * keys without a {@code kid}) are left out, which can only trust less.
     *
     * @throws IOException if a file cannot be read, is not a JWKS, or holds no usable key (the message names it)
     * @throws IllegalArgumentException if a trust domain name is not valid
     */
    static JwtBundles readJwks(Map<String, Path> filesByTrustDomain) throws IOException {
        Map<String, Map<String, PublicKey>> all = new TreeMap<>();
        for (Map.Entry<String, Path> e : filesByTrustDomain.entrySet()) {
            Path file = requireNonNull(e.getValue(), "file of " + e.getKey());
            try {
                all.put(e.getKey(), parseJwks(Files.readString(file)));
            } catch (IOException | IllegalArgumentException ex) {
                throw new IOException(file + ": JWT bundle of " + SpiffeId.quote(e.getKey()) + ": " + ex.getMessage(),
                        ex);
            }
        }
        return of(all);
    }

    /**
     * The JWT-SVID signing keys of one JWKS document, by key ID.
     *
     * @throws IllegalArgumentException if the text is not a JWKS, or holds no usable key
     */
    static Map<String, PublicKey> parseJwks(String json) {
        JWKSet set;
        try {
            set = JWKSet.parse(json);
        } catch (ParseException e) {
            throw new IllegalArgumentException("not a JSON Web Key Set: " + e.getMessage(), e);
        }
        Map<String, PublicKey> keys = new HashMap<>();
        for (JWK jwk : set.getKeys()) {
            String kid = jwk.getKeyID();
            String use = (String) jwk.toJSONObject().get("use");
            if (kid == null || kid.isEmpty() || use != null && !use.equals("jwt-svid") && !use.equals("sig")) {
                continue;
            }
            try {
                if (jwk instanceof ECKey ec) {
                    keys.put(kid, ec.toECPublicKey());
                } else if (jwk instanceof RSAKey rsa) {
                    keys.put(kid, rsa.toRSAPublicKey());
                } else {
                    LoggerFactory.getLogger(JwtBundles.class).warn("ignoring JWK {} of type {} (expected: EC or RSA)",
                            kid, jwk.getKeyType());
                }
            } catch (JOSEException e) {
                throw new IllegalArgumentException("key " + kid + ": " + e.getMessage(), e);
            }
        }
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("no EC or RSA key with a kid and use jwt-svid (expected: at least one)");
        }
        return Map.copyOf(keys);
    }
}
