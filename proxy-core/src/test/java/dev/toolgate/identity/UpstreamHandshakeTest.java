package dev.toolgate.identity;

import static dev.toolgate.identity.TestCerts.messages;
import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.identity.TestCerts.Issued;
import dev.toolgate.identity.TlsHarness.Accepted;
import dev.toolgate.identity.TlsHarness.Client;
import dev.toolgate.identity.TlsHarness.Server;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The upstream hop ({@link TlsMaterial#upstreamContext}) over real TLS: the sidecar presents its
 * SVID and accepts only the expected upstream ID, verified against the upstream's trust domain.
 */
@ParameterizedClass
@MethodSource("dev.toolgate.identity.Providers#all")
class UpstreamHandshakeTest {

    private static final String TD = "example.org";
    private static final SpiffeId SIDECAR = SpiffeId.of(TD, "/toolgate");
    private static final SpiffeId TOOL = SpiffeId.of(TD, "/tools/search");
    private static final SpiffeId OTHER = SpiffeId.of(TD, "/tools/other");

    @TempDir
    static Path caDir;
    @TempDir
    static Path otherCaDir;

    private static DevCa ca;
    private static TlsHarness harness;

    @Parameter
    SslProvider provider;

    @BeforeAll
    static void setUp() throws Exception {
        ca = DevCa.openOrCreate(caDir, TD);
        harness = new TlsHarness();
    }

    @AfterAll
    static void tearDown() {
        harness.close();
    }

    @Test
    void acceptsTheExpectedUpstreamOverH2AndPresentsOurSvid() throws Exception {
        try (Server upstream = harness.server(material(ca.issue(TOOL)).serverContext())) {
            Client sidecar = harness.connect(material(ca.issue(SIDECAR)).upstreamContext(TOOL, true), upstream.port());

            assertThat(sidecar.handshake.get()).isEqualTo("h2");
            assertThat(upstream.acceptance()).isEqualTo(new Accepted(SIDECAR, "h2"));
            assertThat(sidecar.receivedText()).isEqualTo("hello " + SIDECAR);
        }
    }

    @Test
    void offersOnlyHttp11WhenNotHttp2() throws Exception {
        try (Server upstream = harness.server(material(ca.issue(TOOL)).serverContext())) {
            Client sidecar = harness.connect(material(ca.issue(SIDECAR)).upstreamContext(TOOL, false), upstream.port());

            assertThat(sidecar.handshake.get()).isEqualTo("http/1.1");
            assertThat(upstream.acceptance().alpn()).isEqualTo("http/1.1");
        }
    }

    @Test
    void rejectsUpstreamWithAnotherId() throws Exception {
        try (Server upstream = harness.server(material(ca.issue(OTHER)).serverContext())) {
            Client sidecar = harness.connect(material(ca.issue(SIDECAR)).upstreamContext(TOOL, true), upstream.port());

            assertThat(messages(sidecar.handshakeFailure()))
                    .contains("peer spiffe://example.org/tools/other is not the expected spiffe://example.org/tools/search");
            assertThat(sidecar.receivedText()).isEmpty();
            upstream.rejection();
        }
    }

    @Test
    void rejectsUpstreamWithTheExpectedIdFromAnUntrustedCa() throws Exception {
        Svid impostor = DevCa.openOrCreate(otherCaDir, TD).issue(TOOL);
        // The impostor upstream itself would accept us: only our verification stands in the way.
        SslContext impostorServer = SslContextBuilder.forServer(impostor.key(), impostor.chain())
                .sslProvider(provider).clientAuth(ClientAuth.OPTIONAL).build();
        try (Server upstream = harness.server(impostorServer)) {
            Client sidecar = harness.connect(material(ca.issue(SIDECAR)).upstreamContext(TOOL, true), upstream.port());

            assertThat(messages(sidecar.handshakeFailure())).contains("does not verify against the trust bundle");
            assertThat(sidecar.receivedText()).isEmpty();
        }
    }

    @Test
    void appliesTheSvidRulesToTheServerToo() throws Exception {
        Issued caLeaf = TestCerts.leaf(TestCerts.issuer(ca, caDir), TOOL.uri()).ca(true).build();
        SslContext badServer = SslContextBuilder.forServer(caLeaf.key(), caLeaf.cert()).sslProvider(provider).build();
        try (Server upstream = harness.server(badServer)) {
            Client sidecar = harness.connect(material(ca.issue(SIDECAR)).upstreamContext(TOOL, true), upstream.port());

            assertThat(messages(sidecar.handshakeFailure())).contains("is a CA");
            assertThat(sidecar.receivedText()).isEmpty();
        }
    }

    private TlsMaterial material(Svid svid) {
        return StaticTlsMaterial.create(svid, ca.bundles(), provider, Clock.systemUTC());
    }
}
