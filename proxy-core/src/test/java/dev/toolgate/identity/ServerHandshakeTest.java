package dev.toolgate.identity;

import static dev.toolgate.identity.TestCerts.messages;
import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.identity.TestCerts.Issued;
import dev.toolgate.identity.TlsHarness.Accepted;
import dev.toolgate.identity.TlsHarness.Client;
import dev.toolgate.identity.TlsHarness.Server;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The agent-facing listener ({@link TlsMaterial#serverContext()}) over real TLS: a dev-CA client
 * SVID is accepted and identified; every certificate the X509-SVID rules forbid is rejected by the
 * server, for the right reason, and the client never receives the server's greeting.
 */
@ParameterizedClass
@MethodSource("dev.toolgate.identity.Providers#all")
class ServerHandshakeTest {

    private static final String TD = "example.org";
    private static final SpiffeId SIDECAR = SpiffeId.of(TD, "/toolgate");
    private static final SpiffeId AGENT = SpiffeId.of(TD, "/agent");

    @TempDir
    static Path caDir;
    @TempDir
    static Path otherCaDir;

    private static DevCa ca;
    private static Issued caIssuer;
    private static Svid sidecarSvid;
    private static TlsHarness harness;

    @Parameter
    SslProvider provider;

    @BeforeAll
    static void setUp() throws Exception {
        ca = DevCa.openOrCreate(caDir, TD);
        caIssuer = TestCerts.issuer(ca, caDir);
        sidecarSvid = ca.issue(SIDECAR);
        harness = new TlsHarness();
    }

    @AfterAll
    static void tearDown() {
        harness.close();
    }

    @Test
    void acceptsDevCaClientSvidAndIdentifiesIt() throws Exception {
        TlsMaterial agent = StaticTlsMaterial.create(ca.issue(AGENT), ca.bundles(), provider, Clock.systemUTC());
        try (Server server = harness.server(sidecar(ca.bundles()).serverContext())) {
            Client client = harness.connect(agent.upstreamContext(SIDECAR, true), server.port());

            assertThat(server.acceptance()).isEqualTo(new Accepted(AGENT, "h2"));
            assertThat(client.receivedText()).isEqualTo("hello spiffe://example.org/agent");
        }
    }

    @Test
    void negotiatesHttp11WhenTheClientOffersOnlyHttp11() throws Exception {
        TlsMaterial agent = StaticTlsMaterial.create(ca.issue(AGENT), ca.bundles(), provider, Clock.systemUTC());
        try (Server server = harness.server(sidecar(ca.bundles()).serverContext())) {
            Client client = harness.connect(agent.upstreamContext(SIDECAR, false), server.port());

            assertThat(client.handshake.get()).isEqualTo("http/1.1");
            assertThat(server.acceptance()).isEqualTo(new Accepted(AGENT, "http/1.1"));
        }
    }

    @Test
    void acceptsChainWithIntermediate() throws Exception {
        Issued root = TestCerts.root(TD);
        Issued intermediate = TestCerts.cert(root).subject("CN=intermediate").uris("spiffe://" + TD)
                .ca(true).keyUsage(KeyUsage.keyCertSign).build();
        Issued leaf = TestCerts.leaf(intermediate, AGENT.uri()).ca(false).build();
        TrustBundles bundles = TrustBundles.single(TD, List.of(ca.certificate(), root.cert()));
        try (Server server = harness.server(sidecar(bundles).serverContext())) {
            Client client = harness.connect(rawClient(leaf.key(), leaf.cert(), intermediate.cert()), server.port());

            assertThat(server.acceptance().peer()).isEqualTo(AGENT);
            assertThat(client.receivedText()).isEqualTo("hello " + AGENT);
        }
    }

    @Test
    void rejectsClientWithoutCertificate() throws Exception {
        SslContext noCert = SslContextBuilder.forClient().sslProvider(provider).trustManager(ca.certificate())
                .endpointIdentificationAlgorithm(null).build();
        rejected(noCert); // the reason differs by provider; no verified peer and no greeting is what counts
    }

    @Test
    void rejectsSvidFromAnotherCaWithTheSameTrustDomainName() throws Exception {
        DevCa impostor = DevCa.openOrCreate(otherCaDir, TD);
        Svid svid = impostor.issue(AGENT);

        assertThat(messages(rejected(rawClient(svid.key(), svid.leaf()))))
                .contains("does not verify against the trust bundle of \"example.org\"");
    }

    @Test
    void theClientIsToldWhyItsCertificateWasRefused() throws Exception {
        Svid foreign = DevCa.openOrCreate(otherCaDir, TD).issue(AGENT);
        Issued expired = TestCerts.leaf(caIssuer, AGENT.uri())
                .validity(Instant.now().minus(Duration.ofDays(2)), Duration.ofDays(1)).build();
        Issued leafCa = TestCerts.leaf(caIssuer, AGENT.uri()).ca(true).build();

        String unknownCa = alert(rawClient(foreign.key(), foreign.leaf()));
        String expiredAlert = alert(rawClient(expired));
        String bad = alert(rawClient(leafCa));
        if (provider == SslProvider.OPENSSL) {
            // BoringSSL sends the alert the refusal's verify error maps to (OpenSslAlerts).
            assertThat(unknownCa).containsIgnoringCase("alert_unknown_ca");
            assertThat(expiredAlert).containsIgnoringCase("alert_certificate_expired");
            assertThat(bad).containsIgnoringCase("alert_bad_certificate");
        } else {
            // The JDK's server picks the alert itself: certificate_unknown for every refused client chain.
            assertThat(List.of(unknownCa, expiredAlert, bad)).allSatisfy(a -> assertThat(a)
                    .contains("certificate_unknown"));
        }
    }

    /** What the client was told when the server refused its certificate (the alert, in the error's message). */
    private String alert(SslContext clientContext) throws Exception {
        try (Server s = harness.server(sidecar(ca.bundles()).serverContext())) {
            Client client = harness.connect(clientContext, s.port());
            s.rejection();
            Throwable seen = client.failure.get(TlsHarness.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return messages(seen);
        }
    }

    @Test
    void rejectsTrustDomainThatIsNotInTheBundleEvenIfSignedByATrustedCa() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, "spiffe://b.test/agent").build();

        assertThat(messages(rejected(rawClient(leaf))))
                .contains("no trust bundle for trust domain \"b.test\"");
    }

    @Test
    void rejectsTrustDomainBSignedByTrustedDomainACa() throws Exception {
        Issued rootB = TestCerts.root("b.test");
        Issued leaf = TestCerts.leaf(caIssuer, "spiffe://b.test/agent").build();
        TrustBundles both = TrustBundles.of(Map.of(TD, List.of(ca.certificate()), "b.test", List.of(rootB.cert())));

        assertThat(messages(rejected(sidecar(both), rawClient(leaf))))
                .contains("does not verify against the trust bundle of \"b.test\"");
    }

    @Test
    void rejectsLeafWithTwoUriSans() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, AGENT.uri()).uris(AGENT.uri(), "spiffe://example.org/admin").build();

        assertThat(messages(rejected(rawClient(leaf)))).contains("exactly one URI SAN (found 2)");
    }

    @Test
    void rejectsLeafWithoutUriSan() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, AGENT.uri()).uris().dns("agent.example.org").build();

        assertThat(messages(rejected(rawClient(leaf)))).contains("exactly one URI SAN (found 0)");
    }

    @Test
    void rejectsHttpUriSan() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, "http://example.org/agent").build();

        assertThat(messages(rejected(rawClient(leaf)))).contains("not a valid SPIFFE ID").contains("scheme \"http\"");
    }

    @Test
    void rejectsLeafWhoseIdHasNoPath() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, "spiffe://example.org").build();

        assertThat(messages(rejected(rawClient(leaf)))).contains("must have a path");
    }

    @Test
    void rejectsLeafThatIsACa() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, AGENT.uri()).ca(true).build();

        assertThat(messages(rejected(rawClient(leaf)))).contains("is a CA");
    }

    @Test
    void rejectsLeafWithKeyCertSign() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, AGENT.uri())
                .keyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign).build();

        assertThat(messages(rejected(rawClient(leaf)))).contains("keyCertSign or cRLSign");
    }

    @Test
    void rejectsLeafWithCrlSign() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, AGENT.uri()).keyUsage(KeyUsage.digitalSignature | KeyUsage.cRLSign).build();

        assertThat(messages(rejected(rawClient(leaf)))).contains("keyCertSign or cRLSign");
    }

    @Test
    void rejectsLeafWithoutDigitalSignature() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, AGENT.uri()).keyUsage(KeyUsage.keyAgreement).build();
        // A BoringSSL client refuses to sign with such a key; the JDK client presents it.
        SslContext jdkClient = rawClient(SslProvider.JDK, leaf.key(), leaf.cert());

        // BoringSSL as the server refuses it by itself (KEY_USAGE_BIT_INCORRECT) before our rule runs.
        assertThat(messages(rejected(jdkClient)))
                .containsAnyOf("lacks keyUsage digitalSignature", "KEY_USAGE_BIT_INCORRECT");
    }

    @Test
    void rejectsExpiredLeaf() throws Exception {
        Issued leaf = TestCerts.leaf(caIssuer, AGENT.uri())
                .validity(Instant.now().minus(Duration.ofDays(2)), Duration.ofDays(1)).build();

        assertThat(messages(rejected(rawClient(leaf)))).contains("does not verify").contains("EXPIRED");
    }

    private TlsMaterial sidecar(TrustBundles bundles) {
        return StaticTlsMaterial.create(sidecarSvid, bundles, provider, Clock.systemUTC());
    }

    private Throwable rejected(SslContext client) throws Exception {
        return rejected(sidecar(ca.bundles()), client);
    }

    /** Connects and asserts the server refused: no verified peer, no greeting for the client. */
    private Throwable rejected(TlsMaterial server, SslContext clientContext) throws Exception {
        try (Server s = harness.server(server.serverContext())) {
            Client client = harness.connect(clientContext, s.port());
            Throwable rejection = s.rejection();
            assertThat(client.receivedText()).isEmpty();
            return rejection;
        }
    }

    private SslContext rawClient(Issued leaf) throws Exception {
        return rawClient(leaf.key(), leaf.cert());
    }

    /** A plain client that presents any chain, so the server alone decides. */
    private SslContext rawClient(PrivateKey key, X509Certificate... chain) throws Exception {
        return rawClient(provider, key, chain);
    }

    private SslContext rawClient(SslProvider clientProvider, PrivateKey key, X509Certificate... chain) throws Exception {
        return SslContextBuilder.forClient().sslProvider(clientProvider)
                .keyManager(key, chain)
                .trustManager(ca.certificate())
                .endpointIdentificationAlgorithm(null)
                .applicationProtocolConfig(ApplicationProtocolConfig.DISABLED)
                .build();
    }
}
