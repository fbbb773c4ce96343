package dev.toolgate.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestSpireAgent;
import io.spiffe.bundle.BundleSource;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.exception.BundleNotFoundException;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SpireTlsMaterial} against {@link TestSpireAgent} through java-spiffe's real Workload API client over a
 * Unix domain socket. The sidecar-level behaviour (served certificates, rotation under live connections,
 * federation) is in {@code dev.toolgate.proxy.SpireIdentityTest}.
 */
class SpireTlsMaterialTest {
    private static final Duration STARTUP = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private TestPki pki;

    @BeforeEach
    void setUp() throws Exception {
        pki = TestPki.create(dir);
    }

    private static BigInteger serial(Svid svid) {
        return svid.leaf().getSerialNumber();
    }

    /** Polls (the client's updates arrive on its own threads) for at most {@code seconds}. */
    static void eventually(int seconds, String what, BooleanSupplier condition) throws Exception {
        Await.until(what, Duration.ofSeconds(seconds), condition::getAsBoolean);
    }

    @Test
    void takesItsSvidAndBundleFromTheWorkloadApi() throws Exception {
        Svid issued = pki.issue(TestPki.SIDECAR);
        try (TestSpireAgent agent = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            agent.issue(issued, pki.ca().certificate());
            try (SpireTlsMaterial tls = SpireTlsMaterial.connect(agent.address(), Optional.empty(), STARTUP)) {
                assertThat(tls.svid().id()).isEqualTo(TestPki.SIDECAR);
                assertThat(serial(tls.svid())).isEqualTo(serial(issued));
                assertThat(tls.svid().key().getEncoded()).isEqualTo(issued.key().getEncoded());
                assertThat(tls.bundles().trustDomains()).containsExactly(TestPki.TRUST_DOMAIN);
                assertThat(tls.bundles().forTrustDomain(TestPki.TRUST_DOMAIN)).contains(List.of(pki.ca().certificate()));
                assertThat(tls.serverContext().isServer()).isTrue();
                assertThat(tls.upstreamContext(TestPki.AGENT, true).isClient()).isTrue();
                assertThat(tls.address()).isEqualTo(agent.address());
                assertThat(agent.refusedCalls()).as("java-spiffe sends the security header").isZero();
            }
        }
    }

    @Test
    void picksTheConfiguredIdAmongSeveralSvidsElseTheFirst() throws Exception {
        Svid agentSvid = pki.issue(TestPki.AGENT);
        Svid sidecarSvid = pki.issue(TestPki.SIDECAR);
        try (TestSpireAgent agent = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            agent.issue(List.of(agentSvid, sidecarSvid), List.of(pki.ca().certificate()), Map.of());
            try (SpireTlsMaterial first = SpireTlsMaterial.connect(agent.address(), Optional.empty(), STARTUP);
                 SpireTlsMaterial chosen = SpireTlsMaterial.connect(agent.address(), Optional.of(TestPki.SIDECAR),
                         STARTUP)) {
                assertThat(first.svid().id()).isEqualTo(TestPki.AGENT);
                assertThat(chosen.svid().id()).isEqualTo(TestPki.SIDECAR);
                assertThat(serial(chosen.svid())).isEqualTo(serial(sidecarSvid));
            }
        }
    }

    @Test
    void followsEveryPushedRotationAndRefusesAnUpdateWithoutItsId() throws Exception {
        Svid first = pki.issue(TestPki.SIDECAR);
        try (TestSpireAgent agent = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            agent.issue(first, pki.ca().certificate());
            try (SpireTlsMaterial tls = SpireTlsMaterial.connect(agent.address(), Optional.of(TestPki.SIDECAR),
                    STARTUP)) {
                Svid second = pki.issue(TestPki.SIDECAR);
                agent.issue(second, pki.ca().certificate());
                eventually(20, "second SVID", () -> serial(tls.svid()).equals(serial(second)));

                // SPIRE drops the sidecar's entry: the update is refused and the last SVID stays in force.
                agent.issue(pki.issue(TestPki.AGENT), pki.ca().certificate());
                Svid third = pki.issue(TestPki.SIDECAR);
                // A negative check: only time passing can show that the refused update is not taken.
                Thread.sleep(200);
                assertThat(serial(tls.svid())).isEqualTo(serial(second));

                agent.issue(third, pki.ca().certificate());
                eventually(20, "third SVID", () -> serial(tls.svid()).equals(serial(third)));
                assertThat(agent.x509Calls()).as("one stream carried every update").isEqualTo(1);
            }
        }
    }

    @Test
    void waitsForTheAgentToIssueTheFirstSvid() throws Exception {
        try (TestSpireAgent agent = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            CompletableFuture<SpireTlsMaterial> connecting = CompletableFuture.supplyAsync(() -> {
                try {
                    return SpireTlsMaterial.connect(agent.address(), Optional.empty(), Duration.ofSeconds(20));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            // The agent answers "no identity issued" (PERMISSION_DENIED) until then; java-spiffe retries.
            eventually(20, "first FetchX509SVID call", () -> agent.x509Calls() >= 1);
            assertThat(connecting).isNotDone();
            Svid issued = pki.issue(TestPki.SIDECAR);
            agent.issue(issued, pki.ca().certificate());
            try (SpireTlsMaterial tls = connecting.get()) {
                assertThat(serial(tls.svid())).isEqualTo(serial(issued));
                assertThat(agent.x509Calls()).isGreaterThanOrEqualTo(2);
            }
        }
    }

    @Test
    void noSvidWithinTheStartupTimeoutIsAClearError() throws Exception {
        Path nowhere = dir.resolve("nobody-listens.sock");
        long start = System.nanoTime();
        assertThatThrownBy(() -> SpireTlsMaterial.connect("unix://" + nowhere, Optional.empty(),
                Duration.ofMillis(1500)))
                .isInstanceOf(IOException.class)
                .hasMessage("no X.509-SVID from the SPIFFE Workload API at unix://" + nowhere + " within PT1.5S"
                        + " (nothing received: is the SPIRE agent running there, and is this workload registered?)");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));

        try (TestSpireAgent agent = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            // An agent that has nothing for this workload: the same answer.
            assertThatThrownBy(() -> SpireTlsMaterial.connect(agent.address(), Optional.empty(),
                    Duration.ofMillis(500)))
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("no X.509-SVID from the SPIFFE Workload API at " + agent.address());
            eventually(20, "the failed client is gone", () -> agent.openX509Streams() == 0);

            // An agent that has SVIDs, but not the configured one: the error names what it offers.
            agent.issue(pki.issue(TestPki.AGENT), pki.ca().certificate());
            assertThatThrownBy(() -> SpireTlsMaterial.connect(agent.address(), Optional.of(TestPki.SIDECAR),
                    Duration.ofSeconds(5)))
                    .isInstanceOf(IOException.class)
                    .hasMessage("no X.509-SVID for " + TestPki.SIDECAR + " from the SPIFFE Workload API at "
                            + agent.address() + " within PT5S; last problem: update refused: no SVID for "
                            + TestPki.SIDECAR + " among those offered: [" + TestPki.AGENT + "]");
            eventually(20, "the refused client is gone", () -> agent.openX509Streams() == 0);
        }
    }

    @Test
    void keepsItsLastSvidWhileTheAgentIsGoneAndFollowsTheAgentThatComesBack() throws Exception {
        Path socket = dir.resolve("agent.sock");
        Svid first = pki.issue(TestPki.SIDECAR);
        TestSpireAgent agent = TestSpireAgent.start(socket);
        agent.issue(first, pki.ca().certificate());
        try (SpireTlsMaterial tls = SpireTlsMaterial.connect(agent.address(), Optional.empty(), STARTUP)) {
            agent.close();
            // A negative check: only time passing can show that losing the agent does not drop the SVID.
            Thread.sleep(300);
            assertThat(serial(tls.svid())).isEqualTo(serial(first));
            assertThat(tls.serverContext()).isNotNull();

            // SPIRE's agent restarts (an upgrade) with a rotated SVID: java-spiffe reconnects by itself.
            Svid second = pki.issue(TestPki.SIDECAR);
            try (TestSpireAgent restarted = TestSpireAgent.start(socket)) {
                restarted.issue(second, pki.ca().certificate());
                eventually(20, "SVID from the restarted agent", () -> serial(tls.svid()).equals(serial(second)));
            }
        }
    }

    @Test
    void aBrokenStreamKeepsTheSvidAndTheRetryPicksUpWhatChangedMeanwhile() throws Exception {
        Svid first = pki.issue(TestPki.SIDECAR);
        try (TestSpireAgent agent = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            agent.issue(first, pki.ca().certificate());
            try (SpireTlsMaterial tls = SpireTlsMaterial.connect(agent.address(), Optional.empty(), STARTUP)) {
                agent.breakStreams();
                Svid second = pki.issue(TestPki.SIDECAR);
                agent.issue(second, pki.ca().certificate()); // no stream is open to take it
                assertThat(serial(tls.svid())).isEqualTo(serial(first));
                eventually(20, "SVID after the retry", () -> serial(tls.svid()).equals(serial(second)));
                assertThat(agent.x509Calls()).isEqualTo(2);
            }
        }
    }

    @Test
    void takesFederatedBundlesAndKeepsThemThroughAnUpdateThatDoesNotParse() throws Exception {
        DevCa partner = DevCa.openOrCreate(dir.resolve("partner-ca"), "partner.test");
        try (TestSpireAgent agent = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            Svid first = pki.issue(TestPki.SIDECAR);
            agent.issue(List.of(first), List.of(pki.ca().certificate()),
                    Map.of("partner.test", List.of(partner.certificate())));
            try (SpireTlsMaterial tls = SpireTlsMaterial.connect(agent.address(), Optional.empty(), STARTUP)) {
                assertThat(tls.bundles().trustDomains()).containsExactlyInAnyOrder(TestPki.TRUST_DOMAIN, "partner.test");
                assertThat(tls.bundles().forTrustDomain("partner.test")).contains(List.of(partner.certificate()));

                // java-spiffe refuses a whole X.509 context when one federated bundle holds no certificate.
                agent.issue(List.of(pki.issue(TestPki.SIDECAR)), List.of(pki.ca().certificate()),
                        Map.of("partner.test", List.of(partner.certificate()), "empty.test", List.of()));
                // A negative check: only time passing can show that the unparsable update is not taken.
                Thread.sleep(200);
                assertThat(serial(tls.svid())).isEqualTo(serial(first));
                assertThat(tls.bundles().trustDomains()).containsExactlyInAnyOrder(TestPki.TRUST_DOMAIN, "partner.test");

                agent.issue(pki.issue(TestPki.SIDECAR), pki.ca().certificate()); // federation ended
                eventually(20, "federation removed", () -> tls.bundles().trustDomains().size() == 1);
            }
        }
    }

    @Test
    void offersTheJwtBundlesAsALiveViewThatFailsClosed() throws Exception {
        ECKey key1 = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
        ECKey key2 = new ECKeyGenerator(Curve.P_256).keyID("k2").generate();
        TrustDomain td = TrustDomain.parse(TestPki.TRUST_DOMAIN);
        try (TestSpireAgent agent = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            agent.issue(pki.issue(TestPki.SIDECAR), pki.ca().certificate());
            try (SpireTlsMaterial tls = SpireTlsMaterial.connect(agent.address(), Optional.empty(), STARTUP)) {
                BundleSource<JwtBundle> jwt = tls.jwtBundles();
                assertThatThrownBy(() -> jwt.getBundleForTrustDomain(td)).isInstanceOf(BundleNotFoundException.class);

                agent.issueJwtBundles(Map.of(TestPki.TRUST_DOMAIN, new JWKSet(key1.toPublicJWK()).toString()));
                eventually(20, "JWT bundle", () -> hasKey(jwt, td, "k1"));
                assertThat(jwt.getBundleForTrustDomain(td).findJwtAuthority("k1")).isEqualTo(key1.toPublicKey());

                agent.issueJwtBundles(Map.of(TestPki.TRUST_DOMAIN, new JWKSet(key2.toPublicJWK()).toString()));
                eventually(20, "rotated JWT bundle", () -> hasKey(jwt, td, "k2") && !hasKey(jwt, td, "k1"));
                assertThatThrownBy(() -> jwt.getBundleForTrustDomain(TrustDomain.parse("other.test")))
                        .isInstanceOf(BundleNotFoundException.class);
            }
        }
    }

    private static boolean hasKey(BundleSource<JwtBundle> jwt, TrustDomain td, String keyId) {
        try {
            return jwt.getBundleForTrustDomain(td).hasJwtAuthority(keyId);
        } catch (BundleNotFoundException e) {
            return false;
        }
    }

    @Test
    void closeEndsTheStreamsAndKeepsTheLastMaterialReadable() throws Exception {
        Svid issued = pki.issue(TestPki.SIDECAR);
        try (TestSpireAgent agent = TestSpireAgent.start(dir.resolve("agent.sock"))) {
            agent.issue(issued, pki.ca().certificate());
            SpireTlsMaterial tls = SpireTlsMaterial.connect(agent.address(), Optional.empty(), STARTUP);
            assertThat(agent.openX509Streams()).isEqualTo(1);
            tls.close();
            eventually(20, "stream closed", () -> agent.openX509Streams() == 0);
            assertThat(serial(tls.svid())).isEqualTo(serial(issued));
            tls.close(); // idempotent
        }
    }

    @Test
    void theAddressComesFromTheConfigElseTheEnvironmentElseTheDefault() {
        Map<String, String> env = Map.of(SpireTlsMaterial.ADDRESS_ENV, "unix:///spiffe-workload-api/spire-agent.sock");
        assertThat(SpireTlsMaterial.address("unix:///x/agent.sock", env)).isEqualTo("unix:///x/agent.sock");
        assertThat(SpireTlsMaterial.address(null, env)).isEqualTo("unix:///spiffe-workload-api/spire-agent.sock");
        assertThat(SpireTlsMaterial.address(null, Map.of(SpireTlsMaterial.ADDRESS_ENV, " ")))
                .isEqualTo("unix:///run/spire/sockets/agent.sock");
        assertThat(SpireTlsMaterial.address(null, Map.of())).isEqualTo(SpireTlsMaterial.DEFAULT_ADDRESS);
        assertThatThrownBy(() -> SpireTlsMaterial.address(null, Map.of(SpireTlsMaterial.ADDRESS_ENV, "/a.sock")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("SPIFFE_ENDPOINT_SOCKET=/a.sock: ");
    }

    @Test
    void addressesFollowTheWorkloadEndpointRules() {
        SpireTlsMaterial.checkAddress("unix:///run/spire/sockets/agent.sock");
        // java-spiffe validates the IP with commons-validator, whose unused dependencies the build leaves out.
        SpireTlsMaterial.checkAddress("tcp://127.0.0.1:8081");
        for (String bad : List.of("unix://agent.sock", "unix:///", "unix:///a.sock?x=1", "http://127.0.0.1:8081",
                "tcp://localhost:8081", "tcp://127.0.0.1", "/run/spire/sockets/agent.sock", "")) {
            assertThatThrownBy(() -> SpireTlsMaterial.checkAddress(bad))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(bad + ": ")
                    .hasMessageEndingWith("(expected: unix:///path/to/agent.sock or tcp://IP:port)");
        }
        assertThatThrownBy(() -> SpireTlsMaterial.connect("unix://agent.sock", Optional.empty(), STARTUP))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SpireTlsMaterial.connect("unix:///a.sock", Optional.empty(), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("startupTimeout: PT0S (expected: > 0)");
    }
}
