package dev.toolgate.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.identity.TestCerts.Issued;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The verification rules without TLS, with the clock moved by hand. */
class SvidVerifierTest {

    private static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
    private static final String AGENT = "spiffe://example.org/agent";

    private static Issued root;
    private static Issued intermediate;
    private static TrustBundles bundles;

    @BeforeAll
    static void setUp() throws Exception {
        root = TestCerts.cert(null).subject("CN=root").ca(true).keyUsage(KeyUsage.keyCertSign)
                .validity(NOW.minus(Duration.ofDays(30)), Duration.ofDays(60)).build();
        intermediate = TestCerts.cert(root).subject("CN=intermediate").ca(true).keyUsage(KeyUsage.keyCertSign)
                .validity(NOW.minus(Duration.ofDays(30)), Duration.ofDays(60)).build();
        bundles = TrustBundles.single("example.org", List.of(root.cert()));
    }

    @Test
    void acceptsOnlyWhileTheLeafIsValid() throws Exception {
        Issued leaf = TestCerts.leaf(root, AGENT).validity(NOW, Duration.ofHours(1)).build();
        X509Certificate[] chain = {leaf.cert()};

        assertThat(verifier(NOW.plusSeconds(60)).verify(chain)).isEqualTo(SpiffeId.parse(AGENT));
        assertThatThrownBy(() -> verifier(NOW.plus(Duration.ofHours(2))).verify(chain))
                .isInstanceOf(CertificateException.class).hasMessageContaining("EXPIRED");
        assertThatThrownBy(() -> verifier(NOW.minusSeconds(60)).verify(chain))
                .isInstanceOf(CertificateException.class).hasMessageContaining("NOT_YET_VALID");
    }

    @Test
    void buildsThePathThroughIntermediatesAndToleratesTheRootInTheChain() throws Exception {
        Issued leaf = TestCerts.leaf(intermediate, AGENT).validity(NOW, Duration.ofHours(1)).build();
        SvidVerifier verifier = verifier(NOW.plusSeconds(1));

        assertThat(verifier.verify(new X509Certificate[] {leaf.cert(), intermediate.cert()})).hasToString(AGENT);
        assertThat(verifier.verify(new X509Certificate[] {leaf.cert(), intermediate.cert(), root.cert()})).hasToString(AGENT);
        assertThatThrownBy(() -> verifier.verify(new X509Certificate[] {leaf.cert()}))
                .hasMessageContaining("does not verify");
    }

    @Test
    void refusesAnIntermediateThatIsNotACa() throws Exception {
        Issued notCa = TestCerts.leaf(root, "spiffe://example.org/x").validity(NOW, Duration.ofHours(1)).build();
        Issued leaf = TestCerts.leaf(notCa, AGENT).validity(NOW, Duration.ofHours(1)).build();

        assertThatThrownBy(() -> verifier(NOW.plusSeconds(1)).verify(new X509Certificate[] {leaf.cert(), notCa.cert()}))
                .hasMessageContaining("does not verify");
    }

    @Test
    void refusesRuleBreakersAndTheUnexpected() throws Exception {
        SvidVerifier verifier = verifier(NOW.plusSeconds(1));
        Issued noKeyUsage = TestCerts.leaf(root, AGENT).keyUsage(null).validity(NOW, Duration.ofHours(1)).build();
        Issued noDigitalSignature = TestCerts.leaf(root, AGENT).keyUsage(KeyUsage.keyEncipherment)
                .validity(NOW, Duration.ofHours(1)).build();
        Issued other = TestCerts.leaf(root, "spiffe://example.org/other").validity(NOW, Duration.ofHours(1)).build();
        SvidVerifier expectingAgent = new SvidVerifier(bundles, Optional.of(SpiffeId.parse(AGENT)),
                Clock.fixed(NOW.plusSeconds(1), ZoneOffset.UTC));

        assertThatThrownBy(() -> verifier.verify(new X509Certificate[0])).hasMessageContaining("no certificate");
        assertThatThrownBy(() -> verifier.verify(null)).hasMessageContaining("no certificate");
        assertThatThrownBy(() -> verifier.verify(new X509Certificate[] {noKeyUsage.cert()})).hasMessageContaining("no keyUsage");
        assertThatThrownBy(() -> verifier.verify(new X509Certificate[] {noDigitalSignature.cert()}))
                .hasMessageContaining("lacks keyUsage digitalSignature");
        assertThatThrownBy(() -> expectingAgent.verify(new X509Certificate[] {other.cert()}))
                .hasMessageContaining("is not the expected spiffe://example.org/agent");
        assertThat(verifier.acceptedIssuers()).containsExactly(root.cert());
    }

    private static SvidVerifier verifier(Instant at) {
        return new SvidVerifier(bundles, Optional.empty(), Clock.fixed(at, ZoneOffset.UTC));
    }
}
