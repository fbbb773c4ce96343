package dev.toolgate.credential;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import org.junit.jupiter.api.Test;

/** The published JWKS: public P-256 keys only, kid = RFC 7638 thumbprint, the last two after a rotation. */
class SigningKeysTest {
    @Test
    void theJwksHoldsThePublicCurrentKeyWithItsThumbprintAsKid() throws Exception {
        SigningKeys keys = SigningKeys.generate();
        String json = keys.jwksJson();
        assertThat(json).doesNotContain("\"d\"");
        JWKSet set = JWKSet.parse(json);
        assertThat(set.getKeys()).hasSize(1);
        ECKey key = (ECKey) set.getKeys().get(0);
        assertThat(key.isPrivate()).isFalse();
        assertThat(key.getCurve()).isEqualTo(Curve.P_256);
        assertThat(key.getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
        assertThat(key.getKeyUse()).isEqualTo(KeyUse.SIGNATURE);
        assertThat(key.getKeyID()).isEqualTo(key.computeThumbprint().toString())
                .isEqualTo(keys.current().kid());
    }

    @Test
    void rotationPublishesTheNewKeyFirstAndKeepsOnlyThePreviousOne() throws Exception {
        SigningKeys keys = SigningKeys.generate();
        String k1 = keys.current().kid();
        keys.rotate();
        String k2 = keys.current().kid();
        assertThat(JWKSet.parse(keys.jwksJson()).getKeys()).extracting(JWK::getKeyID).containsExactly(k2, k1);
        keys.rotate();
        String k3 = keys.current().kid();
        assertThat(JWKSet.parse(keys.jwksJson()).getKeys()).extracting(JWK::getKeyID).containsExactly(k3, k2);
        assertThat(keys.current().toString()).isEqualTo("SigningKey[kid=" + k3 + "]");
    }
}
