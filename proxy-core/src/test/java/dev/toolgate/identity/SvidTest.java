package dev.toolgate.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyException;
import java.security.interfaces.ECPrivateKey;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SvidTest {

    private static final SpiffeId AGENT = SpiffeId.parse("spiffe://example.org/agent");

    @TempDir
    Path dir;

    private DevCa ca;

    @BeforeEach
    void setUp() throws Exception {
        ca = DevCa.openOrCreate(dir.resolve("ca"), "example.org");
    }

    @Test
    void roundTripsThroughPem() throws Exception {
        Svid svid = ca.issue(AGENT);
        Path chain = dir.resolve("out/svid.pem");
        Path key = dir.resolve("out/svid.key");

        svid.writeTo(chain, key);
        Svid loaded = Svid.load(chain, key);

        assertThat(loaded.id()).isEqualTo(AGENT);
        assertThat(loaded.chain()).isEqualTo(svid.chain());
        assertThat(loaded.leaf()).isEqualTo(svid.leaf());
        assertThat(loaded.key().getEncoded()).isEqualTo(svid.key().getEncoded());
        assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----\n");
        DevCaTest.assertOwnerOnly(key);

        svid.writeTo(chain, key); // replacing existing files keeps owner-only permissions
        DevCaTest.assertOwnerOnly(key);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void loadsSec1EcPrivateKeys(boolean withPublicKey) throws Exception {
        Svid svid = ca.issue(AGENT);
        Path chain = dir.resolve("svid.pem");
        Path key = dir.resolve("svid.key");
        svid.writeTo(chain, key);
        // What `openssl ec` writes: curve OID in [0], the public key in [1] (optional).
        BigInteger d = ((ECPrivateKey) svid.key()).getS();
        DERBitString publicKey = withPublicKey
                ? new DERBitString(SubjectPublicKeyInfo.getInstance(svid.leaf().getPublicKey().getEncoded()).getPublicKeyData().getBytes())
                : null;
        byte[] sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(256, d, publicKey, SECObjectIdentifiers.secp256r1).getEncoded();
        Files.writeString(key, "-----BEGIN EC PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(sec1)
                + "\n-----END EC PRIVATE KEY-----\n", StandardCharsets.US_ASCII);

        Svid loaded = Svid.load(chain, key);

        assertThat(loaded.id()).isEqualTo(AGENT);
        assertThat(((ECPrivateKey) loaded.key()).getS()).isEqualTo(d);
    }

    @Test
    void refusesMismatchedOrMissingParts() throws Exception {
        Svid agent = ca.issue(AGENT);
        Svid other = ca.issue(SpiffeId.parse("spiffe://example.org/other"));

        assertThatIllegalArgumentException().isThrownBy(() -> Svid.of(agent.chain(), other.key()))
                .withMessageContaining("does not match");
        assertThatIllegalArgumentException().isThrownBy(() -> Svid.of(List.of(), agent.key()))
                .withMessageContaining("empty");
        assertThatIllegalArgumentException().isThrownBy(() -> Svid.of(List.of(ca.certificate()), agent.key()))
                .withMessageContaining("must have a path");
        assertThat(agent.toString()).contains("spiffe://example.org/agent").doesNotContain("PRIVATE");
    }

    @Test
    void loadNamesTheBadFile() throws Exception {
        Svid agent = ca.issue(AGENT);
        Path chain = dir.resolve("svid.pem");
        Path key = dir.resolve("svid.key");
        agent.writeTo(chain, key);
        ca.issue(SpiffeId.parse("spiffe://example.org/other")).writeTo(dir.resolve("o.pem"), dir.resolve("o.key"));

        assertThatThrownBy(() -> Svid.load(chain, dir.resolve("o.key")))
                .isInstanceOf(GeneralSecurityException.class).hasMessageContaining("svid.pem").hasMessageContaining("o.key");
        assertThatThrownBy(() -> Svid.load(chain, chain))
                .isInstanceOf(KeyException.class).hasMessageContaining("no PRIVATE KEY");
        assertThatThrownBy(() -> Svid.load(key, key))
                .isInstanceOf(GeneralSecurityException.class).hasMessageContaining("no CERTIFICATE");
    }
}
