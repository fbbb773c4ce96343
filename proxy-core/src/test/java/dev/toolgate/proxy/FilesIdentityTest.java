package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.IdentityConfig;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.TrustBundles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code files} identity source from YAML to loaded material: {@code bundle} and {@code bundles}. */
class FilesIdentityTest {
    @TempDir
    Path dir;

    private DevCa caA;
    private DevCa caB;

    @BeforeEach
    void setUp() throws Exception {
        caA = DevCa.openOrCreate(dir.resolve("ca-a"), "a.test");
        caB = DevCa.openOrCreate(dir.resolve("ca-b"), "b.test");
        caA.issue(SpiffeId.of("a.test", "/toolgate")).writeTo(dir.resolve("svid.pem"), dir.resolve("svid.key"));
        TrustBundles.writePem(dir.resolve("a.pem"), List.of(caA.certificate()));
        TrustBundles.writePem(dir.resolve("b.pem"), List.of(caB.certificate()));
        TrustBundles.writePem(dir.resolve("both.pem"), List.of(caA.certificate(), caB.certificate()));
    }

    private IdentityConfig identity(String bundles) throws Exception {
        Path file = dir.resolve("sidecar.yaml");
        Files.writeString(file, "identity:\n  source: files\n  certificate: svid.pem\n  key: svid.key\n" + bundles);
        return ConfigLoader.load(file).identity();
    }

    @Test
    void aPlainBundleWithTheCaOfAnotherTrustDomainDoesNotLoad() throws Exception {
        IdentityConfig cfg = identity("  bundle: both.pem\n");

        assertThatThrownBy(() -> Identities.load(cfg).close())
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessageStartingWith(dir.resolve("both.pem") + ": CA \"CN=b.test,")
                .hasMessageContaining("belongs to trust domain \"b.test\"")
                .hasMessageContaining("the bundle of the sidecar's own trust domain \"a.test\" only");
    }

    @Test
    void bundlesByTrustDomainLoadWithOrWithoutAPlainBundle() throws Exception {
        try (Identities.Loaded loaded = Identities.load(identity("  bundles: {a.test: a.pem, b.test: b.pem}\n"))) {
            assertThat(loaded.tls().svid().id()).isEqualTo(SpiffeId.of("a.test", "/toolgate"));
        }
        try (Identities.Loaded loaded = Identities.load(identity("  bundle: a.pem\n  bundles: {b.test: b.pem}\n"))) {
            assertThat(loaded.tls().svid().id().trustDomain()).isEqualTo("a.test");
        }
        IdentityConfig noOwn = identity("  bundles: {b.test: b.pem}\n");
        assertThatThrownBy(() -> Identities.load(noOwn).close())
                .hasMessageContaining("no trust bundle for the SVID's own trust domain \"a.test\"");
    }
}
