package dev.toolgate.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrustBundlesTest {

    @TempDir
    Path dir;

    @Test
    void keysBundlesByTrustDomain() throws Exception {
        X509Certificate a = TestCerts.root("a.test").cert();
        X509Certificate b = TestCerts.root("b.test").cert();

        TrustBundles bundles = TrustBundles.of(Map.of("a.test", List.of(a), "b.test", List.of(b)));

        assertThat(bundles.trustDomains()).containsExactlyInAnyOrder("a.test", "b.test");
        assertThat(bundles.forTrustDomain("a.test")).contains(List.of(a));
        assertThat(bundles.forTrustDomain("c.test")).isEmpty();
        assertThat(TrustBundles.single("a.test", List.of(a)).trustDomains()).containsExactly("a.test");
    }

    @Test
    void refusesBadBundles() throws Exception {
        X509Certificate a = TestCerts.root("a.test").cert();

        assertThatIllegalArgumentException().isThrownBy(() -> TrustBundles.of(Map.of()));
        assertThatIllegalArgumentException().isThrownBy(() -> TrustBundles.single("a.test", List.of()))
                .withMessageContaining("empty");
        assertThatIllegalArgumentException().isThrownBy(() -> TrustBundles.single("A.test", List.of(a)))
                .withMessageContaining("lowercase");
        assertThatIllegalArgumentException().isThrownBy(() -> TrustBundles.single("a.test:443", List.of(a)))
                .withMessageContaining("port");
    }

    @Test
    void roundTripsThroughPem() throws Exception {
        List<X509Certificate> certs = List.of(TestCerts.root("a.test").cert(), TestCerts.root("b.test").cert());
        Path pem = dir.resolve("bundles/bundle.pem");

        TrustBundles.writePem(pem, certs);

        assertThat(TrustBundles.loadPem(pem)).isEqualTo(certs);
    }
}
