package dev.toolgate.identity;

import static dev.toolgate.identity.TestCerts.messages;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.identity.TestCerts.Issued;
import dev.toolgate.identity.TlsHarness.Client;
import dev.toolgate.identity.TlsHarness.Server;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code files} identity source keeps one trust bundle per trust domain: a CA of domain B cannot vouch for an
 * ID of domain A, neither by sitting in A's bundle file (refused at load) nor through its own bundle file (refused
 * in the handshake), over real TLS on port 0.
 */
class FileTlsMaterialTest {
    private static final String A = "a.test";
    private static final String B = "b.test";
    private static final SpiffeId SIDECAR = SpiffeId.of(A, "/toolgate");
    private static final SpiffeId AGENT_A = SpiffeId.of(A, "/agent");
    private static final SpiffeId AGENT_B = SpiffeId.of(B, "/agent");
    private static final Duration POLL = Duration.ofMillis(20);

    @TempDir
    Path dir;

    private DevCa caA;
    private DevCa caB;
    private Path svid;
    private Path key;
    private TlsHarness harness;

    @BeforeEach
    void setUp() throws Exception {
        caA = DevCa.openOrCreate(dir.resolve("ca-a"), A);
        caB = DevCa.openOrCreate(dir.resolve("ca-b"), B);
        svid = dir.resolve("svid.pem");
        key = dir.resolve("svid.key");
        caA.issue(SIDECAR).writeTo(svid, key);
        harness = new TlsHarness();
    }

    @AfterEach
    void tearDown() {
        harness.close();
    }

    @Test
    void aPlainBundleHoldingACaOfAnotherTrustDomainIsRefusedAtLoadNamingTheFileAndTheCa() throws Exception {
        Path bundle = pem("bundle.pem", caA, caB);

        assertThatThrownBy(() -> FileTlsMaterial.watch(svid, key, bundle, POLL).close())
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessageContaining(bundle.toString())
                .hasMessageContaining(caB.certificate().getSubjectX500Principal().getName())
                .hasMessageContaining("spiffe://b.test")
                .hasMessageContaining("\"a.test\"");
    }

    @Test
    void aCaWithoutASpiffeIdBelongsToTheTrustDomainOfItsBundle() throws Exception {
        Issued plainRoot = TestCerts.cert(null).subject("CN=plain root").ca(true)
                .keyUsage(org.bouncycastle.asn1.x509.KeyUsage.keyCertSign).build();
        Issued agent = TestCerts.leaf(plainRoot, AGENT_A.uri()).ca(false).build();
        TrustBundles.writePem(dir.resolve("bundle.pem"), List.of(caA.certificate(), plainRoot.cert()));

        try (FileTlsMaterial tls = FileTlsMaterial.watch(svid, key, dir.resolve("bundle.pem"), POLL);
                Server server = harness.server(tls.serverContext())) {
            harness.connect(client(agent.svid()), server.port());
            assertThat(server.acceptance().peer()).isEqualTo(AGENT_A);
        }
    }

    @Test
    void perTrustDomainBundlesLetEachCaVouchOnlyForItsOwnDomain() throws Exception {
        TrustBundleFiles files = TrustBundleFiles.of(null, Map.of(A, pem("a.pem", caA), B, pem("b.pem", caB)));
        try (FileTlsMaterial tls = FileTlsMaterial.watch(svid, key, files, POLL)) {
            try (Server server = harness.server(tls.serverContext())) {
                Client client = harness.connect(client(caB.issue(AGENT_B)), server.port());
                assertThat(server.acceptance().peer()).isEqualTo(AGENT_B);
                assertThat(client.receivedText()).isEqualTo("hello " + AGENT_B);
            }
            Issued forged = TestCerts.leaf(TestCerts.issuer(caB, dir.resolve("ca-b")), AGENT_A.uri()).build();
            try (Server server = harness.server(tls.serverContext())) {
                Client client = harness.connect(client(forged.svid()), server.port());
                assertThat(messages(server.rejection()))
                        .contains("does not verify against the trust bundle of \"a.test\"");
                assertThat(client.received.handle((text, e) -> text == null ? "" : text).get())
                        .doesNotContain("hello");
            }
        }
    }

    @Test
    void aPlainBundleAndPerDomainBundlesCombineButNeverForTheSameDomain() throws Exception {
        TrustBundleFiles both = TrustBundleFiles.of(pem("own.pem", caA), Map.of(B, pem("b.pem", caB)));
        try (FileTlsMaterial tls = FileTlsMaterial.watch(svid, key, both, POLL);
                Server server = harness.server(tls.serverContext())) {
            harness.connect(client(caB.issue(AGENT_B)), server.port());
            assertThat(server.acceptance().peer()).isEqualTo(AGENT_B);
        }
        TrustBundleFiles twice = TrustBundleFiles.of(dir.resolve("own.pem"), Map.of(A, dir.resolve("own.pem")));
        assertThatThrownBy(() -> FileTlsMaterial.watch(svid, key, twice, POLL).close())
                .hasMessageContaining("trust domain \"a.test\" has two bundles");
        TrustBundleFiles noOwn = TrustBundleFiles.of(null, Map.of(B, dir.resolve("b.pem")));
        assertThatThrownBy(() -> FileTlsMaterial.watch(svid, key, noOwn, POLL).close())
                .hasMessageContaining("no trust bundle for the SVID's own trust domain \"a.test\"");
    }

    @Test
    void aPerDomainBundleFileHoldingACaOfAnotherDomainIsRefused() throws Exception {
        TrustBundleFiles files = TrustBundleFiles.of(null, Map.of(A, pem("a.pem", caA), B, pem("b.pem", caA, caB)));

        assertThatThrownBy(() -> FileTlsMaterial.watch(svid, key, files, POLL).close())
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessageContaining(dir.resolve("b.pem").toString())
                .hasMessageContaining(caA.certificate().getSubjectX500Principal().getName())
                .hasMessageContaining("\"b.test\"");
    }

    @Test
    void aChangedBundleFileIsReloadedAndABadOneKeepsThePreviousBundles() throws Exception {
        Path bFile = pem("b.pem", caA); // wrong at first: caA in B's file
        assertThatThrownBy(() -> FileTlsMaterial.watch(svid, key,
                TrustBundleFiles.of(null, Map.of(A, pem("a.pem", caA), B, bFile)), POLL).close())
                .isInstanceOf(GeneralSecurityException.class);
        pem("b.pem", caB);
        DevCa caB2 = DevCa.openOrCreate(dir.resolve("ca-b2"), B);
        TrustBundleFiles files = TrustBundleFiles.of(null, Map.of(A, dir.resolve("a.pem"), B, bFile));
        try (FileTlsMaterial tls = FileTlsMaterial.watch(svid, key, files, POLL)) {
            Svid agentB2 = caB2.issue(AGENT_B);
            assertThat(accepts(tls, caB.issue(AGENT_B))).isTrue();
            assertThat(accepts(tls, agentB2)).isFalse();

            pem("b.pem", caB2);
            dev.toolgate.testing.Await.until("B's new bundle in force", () -> accepts(tls, agentB2));
            assertThat(accepts(tls, caB.issue(AGENT_B))).isFalse();

            // A CA of A in B's file does not load: B's last good bundle stays in force.
            pem("b.pem", caB2, caA);
            // A negative check: only time passing can show that the bad file is not taken.
            Thread.sleep(10 * POLL.toMillis());
            assertThat(accepts(tls, agentB2)).isTrue();
        }
    }

    private boolean accepts(TlsMaterial tls, Svid agent) throws Exception {
        try (Server server = harness.server(tls.serverContext())) {
            harness.connect(client(agent), server.port());
            try {
                return server.acceptance().peer().equals(agent.id());
            } catch (java.util.concurrent.ExecutionException e) {
                return false;
            }
        }
    }

    /** An agent's client context: its SVID, and A's bundle to verify the sidecar. */
    private io.netty.handler.ssl.SslContext client(Svid agent) {
        TrustBundles trustA = TrustBundles.single(A, List.of(caA.certificate()));
        return StaticTlsMaterial.create(agent, trustA, SslProvider.JDK, Clock.systemUTC()).upstreamContext(SIDECAR, true);
    }

    private Path pem(String name, DevCa... cas) throws Exception {
        Path file = dir.resolve(name);
        TrustBundles.writePem(file, java.util.Arrays.stream(cas).map(DevCa::certificate).toList());
        return file;
    }
}
