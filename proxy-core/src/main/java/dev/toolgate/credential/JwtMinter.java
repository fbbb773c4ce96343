package dev.toolgate.credential;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;

/** Signs task JWTs with the current {@link SigningKeys} key. Thread-safe. */
final class JwtMinter {
    /** The {@code iss} of every task JWT. */
    static final String ISSUER = "toolgate";

    private final SigningKeys keys;
    private final SecureRandom random = new SecureRandom();

    JwtMinter(SigningKeys keys) {
        this.keys = keys;
    }

    /**
     * A JWT for {@code task} toward {@code audience}. {@code issuedAt} and {@code expiresAt} are whole seconds
     * (what the claims can carry); the caller made sure {@code expiresAt} is not after the task's expiry.
     */
    MintedJwt mint(String route, TaskClaims task, String audience, Instant issuedAt, Instant expiresAt)
            throws CredentialException {
        SigningKeys.SigningKey key = keys.current();
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(key.kid())
                .type(JOSEObjectType.JWT)
                .build();
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .subject(task.subject())
                .audience(audience)
                .claim("task_id", task.taskId())
                .claim("purpose", task.purpose())
                .issueTime(Date.from(issuedAt))
                .expirationTime(Date.from(expiresAt))
                .jwtID(newJti())
                .build();
        SignedJWT jwt = new SignedJWT(header, claims);
        try {
            jwt.sign(key.signer());
        } catch (JOSEException | RuntimeException e) {
            throw new CredentialException("route " + route + ": cannot sign a task JWT with key " + key.kid(), e);
        }
        return new MintedJwt("Bearer " + jwt.serialize(), task, issuedAt, expiresAt);
    }

    private String newJti() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
