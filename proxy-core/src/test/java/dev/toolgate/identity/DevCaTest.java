package dev.toolgate.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevCaTest {

    private static final String BASIC_CONSTRAINTS = "2.5.29.19";
    private static final String KEY_USAGE = "2.5.29.15";
    private static final String SUBJECT_ALT_NAME = "2.5.29.17";
    private static final String EXT_KEY_USAGE = "2.5.29.37";
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final SpiffeId AGENT = SpiffeId.parse("spiffe://example.org/agent");

    @TempDir
    Path stateDir;

    @Test
    void createsASelfSignedP256RootForTheTrustDomain() throws Exception {
        Instant before = Instant.now();
        DevCa ca = DevCa.openOrCreate(stateDir.resolve("nested/ca"), "example.org");
        X509Certificate cert = ca.certificate();

        assertThat(ca.trustDomain()).isEqualTo("example.org");
        assertThat(cert.getSubjectX500Principal()).isEqualTo(cert.getIssuerX500Principal());
        cert.verify(cert.getPublicKey());
        assertThat(((ECPublicKey) cert.getPublicKey()).getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
        assertThat(cert.getCriticalExtensionOIDs()).contains(BASIC_CONSTRAINTS, KEY_USAGE);
        assertThat(cert.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(cert.getKeyUsage()).startsWith(false, false, false, false, false, true, true);
        assertThat(cert.getSubjectAlternativeNames()).containsExactly(List.of(6, "spiffe://example.org"));
        assertThat(Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()))
                .isBetween(Duration.ofDays(365), Duration.ofDays(365).plusMinutes(2));
        assertThat(cert.getNotBefore().toInstant()).isBefore(before);
        assertThat(ca.bundles().trustDomains()).containsExactly("example.org");
        assertThat(ca.bundles().forTrustDomain("example.org")).contains(List.of(cert));
        assertThat(Files.exists(stateDir.resolve("nested/ca/ca.pem"))).isTrue();
        assertOwnerOnly(stateDir.resolve("nested/ca/ca.key"));
    }

    @Test
    void reopensTheSameCa() throws Exception {
        DevCa first = DevCa.openOrCreate(stateDir, "example.org");
        DevCa second = DevCa.openOrCreate(stateDir, "example.org");

        assertThat(second.certificate()).isEqualTo(first.certificate());
        // The reopened key still signs leaves that chain to the original certificate.
        second.issue(AGENT).leaf().verify(first.certificate().getPublicKey());
    }

    @Test
    void refusesToReopenForAnotherTrustDomainOrFromHalfAState() throws Exception {
        DevCa.openOrCreate(stateDir, "example.org");

        assertThatIllegalArgumentException().isThrownBy(() -> DevCa.openOrCreate(stateDir, "other.org"))
                .withMessageContaining("\"example.org\"");
        Files.delete(stateDir.resolve("ca.pem"));
        assertThatThrownBy(() -> DevCa.openOrCreate(stateDir, "example.org"))
                .isInstanceOf(IOException.class).hasMessageContaining("incomplete");
        assertThatIllegalArgumentException().isThrownBy(() -> DevCa.openOrCreate(stateDir, "Bad.Domain"))
                .withMessageContaining("lowercase");
    }

    @Test
    void issuesALeafWithExactlyTheSvidExtensions() throws Exception {
        DevCa ca = DevCa.openOrCreate(stateDir, "example.org");
        Instant now = Instant.now();

        Svid svid = ca.issue(AGENT, Duration.ofHours(2), List.of("agent.local"), List.of("10.0.0.7"));
        X509Certificate leaf = svid.leaf();

        assertThat(svid.id()).isEqualTo(AGENT);
        assertThat(svid.chain()).containsExactly(leaf);
        leaf.verify(ca.certificate().getPublicKey());
        assertThat(leaf.getIssuerX500Principal()).isEqualTo(ca.certificate().getSubjectX500Principal());
        assertThat(((ECPublicKey) leaf.getPublicKey()).getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
        assertThat(leaf.getSigAlgName()).isEqualTo("SHA256withECDSA");

        assertThat(leaf.getCriticalExtensionOIDs()).containsExactlyInAnyOrder(BASIC_CONSTRAINTS, KEY_USAGE);
        assertThat(leaf.getNonCriticalExtensionOIDs()).containsExactlyInAnyOrder(SUBJECT_ALT_NAME, EXT_KEY_USAGE);
        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.getExtensionValue(BASIC_CONSTRAINTS)).isNotNull();
        assertThat(leaf.getKeyUsage()).containsExactly(true, false, false, false, false, false, false, false, false);
        assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
        assertThat(leaf.getSubjectAlternativeNames()).containsExactlyInAnyOrder(
                List.of(6, "spiffe://example.org/agent"), List.of(2, "agent.local"), List.of(7, "10.0.0.7"));

        assertThat(leaf.getSerialNumber().signum()).isPositive();
        assertThat(leaf.getSerialNumber().bitLength()).isLessThanOrEqualTo(128).isGreaterThan(64);
        assertThat(ca.issue(AGENT).leaf().getSerialNumber()).isNotEqualTo(leaf.getSerialNumber());
        assertThat(leaf.getNotBefore().toInstant()).isCloseTo(now.minus(1, ChronoUnit.MINUTES), within(2, ChronoUnit.SECONDS));
        assertThat(leaf.getNotAfter().toInstant()).isCloseTo(now.plus(2, ChronoUnit.HOURS), within(2, ChronoUnit.SECONDS));
    }

    @Test
    void defaultIssueIsValidForADayOnLoopback() throws Exception {
        DevCa ca = DevCa.openOrCreate(stateDir, "example.org");
        Instant now = Instant.now();

        X509Certificate leaf = ca.issue(AGENT).leaf();

        assertThat(leaf.getSubjectAlternativeNames()).containsExactlyInAnyOrder(List.of(6, "spiffe://example.org/agent"),
                List.of(2, "localhost"), List.of(7, "127.0.0.1"), List.of(7, "0:0:0:0:0:0:0:1"));
        assertThat(leaf.getNotAfter().toInstant()).isCloseTo(now.plus(24, ChronoUnit.HOURS), within(2, ChronoUnit.SECONDS));
    }

    @Test
    void refusesIdsItCannotIssue() throws Exception {
        DevCa ca = DevCa.openOrCreate(stateDir, "example.org");

        assertThatIllegalArgumentException().isThrownBy(() -> ca.issue(SpiffeId.parse("spiffe://other.org/agent")))
                .withMessageContaining("not in trust domain \"example.org\"");
        assertThatIllegalArgumentException().isThrownBy(() -> ca.issue(SpiffeId.parse("spiffe://example.org")))
                .withMessageContaining("no path");
        assertThatIllegalArgumentException().isThrownBy(() -> ca.issue(AGENT, Duration.ZERO, List.of(), List.of()))
                .withMessageContaining("ttl");
        assertThatIllegalArgumentException().isThrownBy(() -> ca.issue(AGENT, Duration.ofHours(1), List.of(), List.of("1.2.3")))
                .withMessageContaining("IP address");
        assertThatIllegalArgumentException().isThrownBy(() -> ca.issue(AGENT, Duration.ofHours(1), List.of("a b"), List.of()))
                .withMessageContaining("DNS");
    }

    @Test
    void issueToWritesLoadableFiles() throws Exception {
        DevCa ca = DevCa.openOrCreate(stateDir.resolve("ca"), "example.org");

        Path dir = ca.issueTo(AGENT, stateDir.resolve("out/agent"));

        Svid svid = Svid.load(dir.resolve("svid.pem"), dir.resolve("svid.key"));
        assertThat(svid.id()).isEqualTo(AGENT);
        assertThat(TrustBundles.loadPem(dir.resolve("bundle.pem"))).containsExactly(ca.certificate());
        assertOwnerOnly(dir.resolve("svid.key"));
    }

    static void assertOwnerOnly(Path key) throws IOException {
        if (Files.getFileStore(key).supportsFileAttributeView("posix")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        }
    }
}
