package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpireTlsMaterial;
import dev.toolgate.identity.Svid;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestSpireAgent;
import dev.toolgate.testing.TestUpstream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sidecar with its identity from SPIRE ({@link SpireTlsMaterial} against {@link TestSpireAgent}): it serves the
 * SVID the agent issued, follows the rotations the agent pushes without dropping a connection, trusts another
 * trust domain exactly when a federated bundle for it arrives, and keeps serving when the agent goes away.
 */
class SpireIdentityTest {
    private static final SpiffeId PARTNER_AGENT = SpiffeId.parse("spiffe://partner.test/agents/auditor");

    @TempDir
    Path dir;

    private TestPki pki;
    private TestSpireAgent spire;
    private AuditTrail trail;
    private TestUpstream upstream;
    private SidecarConfig config;

    @BeforeEach
    void setUp() throws Exception {
        pki = TestPki.create(dir);
        spire = TestSpireAgent.start(dir.resolve("agent.sock"));
        trail = AuditTrail.start(new MemoryAuditSink(), null, 1000);
        upstream = TestUpstream.start();
        config = Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())));
    }

    @AfterEach
    void tearDown() throws Exception {
        upstream.close();
        trail.close();
        spire.close();
    }

    private ProxyServer start(SpireTlsMaterial tls) throws Exception {
        return ProxyServer.builder(config).tls(tls).audit(trail).workerThreads(1).build();
    }

    private static String get(String token) {
        return "GET /api/weather/x HTTP/1.1\r\nHost: a\r\ntoolgate-task: " + token + "\r\n\r\n";
    }

    private static BigInteger servedSerial(SSLContext tls, int port) throws Exception {
        try (RawHttpClient c = new RawHttpClient(tls, port)) {
            return ((X509Certificate) c.session().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    /** A call on a new connection; -1 if the sidecar refused the peer's certificate (a TLS alert). */
    private static int callOnNewConnection(SSLContext tls, int port, String request) throws IOException {
        try (RawHttpClient c = new RawHttpClient(tls, port)) {
            return c.exchange(request).status();
        } catch (SSLException | java.net.SocketException e) {
            // Under TLS 1.3 the refusal can also surface as a reset or broken pipe on the first write.
            return -1;
        }
    }

    /**
     * A JDK client that presents {@code svid} whatever CAs the server's certificate request names (the JDK's own key
     * manager would send no certificate at all to a sidecar that does not name the client's CA), and trusts
     * {@code ca} for the sidecar.
     */
    private static SSLContext alwaysPresenting(Svid svid, X509Certificate ca) throws Exception {
        X509ExtendedKeyManager keys = new X509ExtendedKeyManager() {
            @Override
            public String[] getClientAliases(String keyType, Principal[] issuers) {
                return new String[] {"svid"};
            }

            @Override
            public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
                return "svid";
            }

            @Override
            public String[] getServerAliases(String keyType, Principal[] issuers) {
                return new String[0];
            }

            @Override
            public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                return null;
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return svid.chain().toArray(new X509Certificate[0]);
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                return svid.key();
            }
        };
        KeyStore anchors = KeyStore.getInstance("PKCS12");
        anchors.load(null, null);
        anchors.setCertificateEntry("ca", ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(anchors);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new KeyManager[] {keys}, tmf.getTrustManagers(), null);
        return ctx;
    }

    private static void eventually(String what, BooleanSupplier condition) throws Exception {
        Await.until(what, Duration.ofSeconds(20), condition::getAsBoolean);
    }

    @Test
    void servesTheSvidSpireIssuedAndFollowsItsRotationsWithoutDroppingAConnection() throws Exception {
        Svid first = pki.issue(TestPki.SIDECAR);
        spire.issue(first, pki.ca().certificate());
        SSLContext agent = pki.jdkClient(TestPki.AGENT);
        try (SpireTlsMaterial tls = SpireTlsMaterial.connect(spire.address(), Optional.of(TestPki.SIDECAR),
                Duration.ofSeconds(30));
             ProxyServer proxy = start(tls);
             RawHttpClient longLived = new RawHttpClient(agent, proxy.port())) {
            String get = get(Sidecar.taskForEverything(proxy, TestPki.AGENT));
            assertThat(longLived.exchange(get).status()).isEqualTo(200);
            assertThat(servedSerial(agent, proxy.port())).isEqualTo(first.leaf().getSerialNumber());

            for (int i = 0; i < 3; i++) {
                Svid next = pki.issue(TestPki.SIDECAR);
                spire.issue(next, pki.ca().certificate());
                eventually("rotation " + i + " served", () -> {
                    try {
                        return servedSerial(agent, proxy.port()).equals(next.leaf().getSerialNumber());
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
                // The connection made before every rotation still carries calls, and new ones work too.
                assertThat(longLived.exchange(get).status()).isEqualTo(200);
                assertThat(callOnNewConnection(agent, proxy.port(), get)).isEqualTo(200);
            }
            assertThat(spire.x509Calls()).as("one Workload API stream carried every rotation").isEqualTo(1);
        }
    }

    /**
     * Rotation under load: two clients keep calling (one on a keep-alive connection, one on a new connection per
     * call) while SPIRE rotates the sidecar's SVID five times; not one call fails.
     */
    @Test
    void callsUnderLoadNeverFailWhileTheSvidRotates() throws Exception {
        spire.issue(pki.issue(TestPki.SIDECAR), pki.ca().certificate());
        SSLContext agent = pki.jdkClient(TestPki.AGENT);
        try (SpireTlsMaterial tls = SpireTlsMaterial.connect(spire.address(), Optional.of(TestPki.SIDECAR),
                Duration.ofSeconds(30));
             ProxyServer proxy = start(tls)) {
            String get = get(Sidecar.taskForEverything(proxy, TestPki.AGENT));
            java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
            java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
            java.util.List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread keepAlive = new Thread(() -> {
                try (RawHttpClient c = new RawHttpClient(agent, proxy.port())) {
                    while (running.get()) {
                        int status = c.exchange(get).status();
                        if (status == 200) {
                            ok.incrementAndGet();
                        } else {
                            failures.add("keep-alive: " + status);
                        }
                    }
                } catch (Exception e) {
                    failures.add("keep-alive: " + e);
                }
            });
            Thread fresh = new Thread(() -> {
                while (running.get()) {
                    try {
                        int status = callOnNewConnection(agent, proxy.port(), get);
                        if (status == 200) {
                            ok.incrementAndGet();
                        } else {
                            failures.add("new connection: " + status);
                        }
                    } catch (Exception e) {
                        failures.add("new connection: " + e);
                    }
                }
            });
            keepAlive.start();
            fresh.start();
            for (int i = 0; i < 5; i++) {
                Svid next = pki.issue(TestPki.SIDECAR);
                spire.issue(next, pki.ca().certificate());
                eventually("rotation " + i + " served", () -> {
                    try {
                        return servedSerial(agent, proxy.port()).equals(next.leaf().getSerialNumber());
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
            }
            running.set(false);
            keepAlive.join(10_000);
            fresh.join(10_000);
            assertThat(failures).isEmpty();
            assertThat(ok.get()).as("calls made during the rotations").isGreaterThan(10);
        }
    }

    @Test
    void aFederatedBundleMakesTheOtherTrustDomainsAgentsAcceptableAndItsRemovalUndoesIt() throws Exception {
        DevCa partnerCa = DevCa.openOrCreate(dir.resolve("partner-ca"), "partner.test");
        // The partner's agent trusts our CA to verify the sidecar; the sidecar must first trust the partner's CA.
        SSLContext partner = alwaysPresenting(partnerCa.issue(PARTNER_AGENT), pki.ca().certificate());
        spire.issue(pki.issue(TestPki.SIDECAR), pki.ca().certificate());
        try (SpireTlsMaterial tls = SpireTlsMaterial.connect(spire.address(), Optional.empty(), Duration.ofSeconds(30));
             ProxyServer proxy = start(tls)) {
            String get = get(Sidecar.taskForEverything(proxy, PARTNER_AGENT));
            assertThat(callOnNewConnection(partner, proxy.port(), get)).as("before federation").isEqualTo(-1);
            assertThat(upstream.requests).isEmpty();

            spire.issue(List.of(pki.issue(TestPki.SIDECAR)), List.of(pki.ca().certificate()),
                    Map.of("partner.test", List.of(partnerCa.certificate())));
            eventually("federated bundle in force", () -> tls.bundles().trustDomains().contains("partner.test"));
            assertThat(callOnNewConnection(partner, proxy.port(), get)).as("federated").isEqualTo(200);
            assertThat(upstream.requests).hasSize(1);

            spire.issue(pki.issue(TestPki.SIDECAR), pki.ca().certificate());
            eventually("federation ended", () -> !tls.bundles().trustDomains().contains("partner.test"));
            assertThat(callOnNewConnection(partner, proxy.port(), get)).as("federation ended").isEqualTo(-1);
            assertThat(upstream.requests).hasSize(1);
        }
    }

    @Test
    void jwtSvidsAreVerifiedWithTheJwtBundlesSpireStreamsAndTheirRotation() throws Exception {
        spire.issue(pki.issue(TestPki.SIDECAR), pki.ca().certificate());
        String audience = "spiffe://toolgate.test/toolgate/sidecar";
        SidecarConfig jwtConfig = config.withListener(new dev.toolgate.config.ListenerConfig("127.0.0.1", 0)
                .withJwtSvid(dev.toolgate.config.JwtSvidConfig.enabled(audience)));
        SSLContext noCert = pki.jdkClientWithoutCertificate();
        try (SpireTlsMaterial tls = SpireTlsMaterial.connect(spire.address(), Optional.empty(), Duration.ofSeconds(30));
             ProxyServer proxy = ProxyServer.builder(jwtConfig).tls(tls).jwtBundles(tls.jwtSvidBundles())
                     .audit(trail).workerThreads(1).build()) {
            String task = Sidecar.taskForEverything(proxy, TestPki.AGENT);
            String jwt = pki.ca().mintJwtSvid(TestPki.AGENT, audience, Duration.ofMinutes(5));
            String request = "GET /api/weather/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + jwt
                    + "\r\ntoolgate-task: " + task + "\r\n\r\n";
            // No JWT bundle from SPIRE yet: refused (fail closed).
            assertThat(callOnNewConnection(noCert, proxy.port(), request)).isEqualTo(401);

            spire.issueJwtBundles(Map.of(TestPki.TRUST_DOMAIN, pki.ca().jwks()));
            eventually("JWT bundle in force", () -> callOnNewConnectionQuietly(noCert, proxy.port(), request) == 200);
            assertThat(upstream.requests).hasSize(1);

            // SPIRE rotates the JWT key away: the token signed with the old key stops verifying.
            DevCa other = DevCa.openOrCreate(dir.resolve("other-jwt"), TestPki.TRUST_DOMAIN);
            spire.issueJwtBundles(Map.of(TestPki.TRUST_DOMAIN, other.jwks()));
            eventually("rotated JWT bundle", () -> callOnNewConnectionQuietly(noCert, proxy.port(), request) == 401);
            assertThat(upstream.requests).hasSize(1);
        }
    }

    private static int callOnNewConnectionQuietly(SSLContext tls, int port, String request) {
        try {
            return callOnNewConnection(tls, port, request);
        } catch (IOException e) {
            return -2;
        }
    }

    @Test
    void keepsServingTheLastSvidWhenTheSpireAgentGoesAway() throws Exception {
        Svid issued = pki.issue(TestPki.SIDECAR);
        spire.issue(issued, pki.ca().certificate());
        SSLContext agent = pki.jdkClient(TestPki.AGENT);
        try (SpireTlsMaterial tls = SpireTlsMaterial.connect(spire.address(), Optional.empty(), Duration.ofSeconds(30));
             ProxyServer proxy = start(tls)) {
            String get = get(Sidecar.taskForEverything(proxy, TestPki.AGENT));
            assertThat(callOnNewConnection(agent, proxy.port(), get)).isEqualTo(200);

            spire.close();
            // A negative check: only time passing lets the client see the stream end and retry, keeping its SVID.
            Thread.sleep(300);
            assertThat(servedSerial(agent, proxy.port())).isEqualTo(issued.leaf().getSerialNumber());
            assertThat(callOnNewConnection(agent, proxy.port(), get)).isEqualTo(200);
        }
    }
}
