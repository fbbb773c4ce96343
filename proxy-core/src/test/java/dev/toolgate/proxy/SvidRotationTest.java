package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.identity.FileTlsMaterial;
import dev.toolgate.identity.Svid;
import dev.toolgate.identity.TrustBundles;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sidecar's SVID rotates from its PEM files with no restart and no dropped connection. */
class SvidRotationTest {
    @TempDir
    Path dir;

    private static BigInteger servedSerial(SSLContext tls, int port) throws Exception {
        try (RawHttpClient c = new RawHttpClient(tls, port)) {
            return ((X509Certificate) c.session().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private void writeSvid(Svid svid, Path files) throws Exception {
        // Write aside and move in, as spiffe-helper and Kubernetes do, so the watcher never sees half a file.
        svid.writeTo(files.resolve("svid.pem.tmp"), files.resolve("svid.key.tmp"));
        Files.move(files.resolve("svid.key.tmp"), files.resolve("svid.key"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.move(files.resolve("svid.pem.tmp"), files.resolve("svid.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void aRotatedSvidIsServedToNewConnectionsWhileOldOnesKeepWorking() throws Exception {
        TestPki pki = TestPki.create(dir);
        Path files = Files.createDirectories(dir.resolve("sidecar"));
        Svid first = pki.issue(TestPki.SIDECAR);
        writeSvid(first, files);
        TrustBundles.writePem(files.resolve("bundle.pem"), List.of(pki.ca().certificate()));
        SSLContext agent = pki.jdkClient(TestPki.AGENT);
        AuditTrail trail = AuditTrail.start(new MemoryAuditSink(), null, 1000);
        TestUpstream upstream = TestUpstream.start();
        SidecarConfig config = Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())));
        try (upstream;
             FileTlsMaterial tls = FileTlsMaterial.watch(files.resolve("svid.pem"), files.resolve("svid.key"),
                     files.resolve("bundle.pem"), Duration.ofMillis(20));
             ProxyServer proxy = ProxyServer.builder(config).tls(tls).audit(trail).workerThreads(1).build();
             RawHttpClient longLived = new RawHttpClient(agent, proxy.port())) {
            String get = "GET /api/weather/x HTTP/1.1\r\nHost: a\r\ntoolgate-task: "
                    + Sidecar.taskForEverything(proxy, TestPki.AGENT) + "\r\n\r\n";
            assertThat(longLived.exchange(get).status()).isEqualTo(200);
            assertThat(servedSerial(agent, proxy.port())).isEqualTo(first.leaf().getSerialNumber());

            Svid second = pki.issue(TestPki.SIDECAR);
            writeSvid(second, files);
            Await.until("rotation picked up", Duration.ofSeconds(5),
                    () -> servedSerial(agent, proxy.port()).equals(second.leaf().getSerialNumber()));
            // The connection made before the rotation still carries calls.
            assertThat(longLived.exchange(get).status()).isEqualTo(200);

            // A broken write does not take the sidecar down: the last good SVID stays in force.
            Files.writeString(files.resolve("svid.pem"), "-----BEGIN CERTIFICATE-----\ngarbage\n");
            // A negative check: only time passing can show that the broken file is not taken.
            Thread.sleep(200);
            assertThat(servedSerial(agent, proxy.port())).isEqualTo(second.leaf().getSerialNumber());
            assertThat(tls.svid().leaf().getSerialNumber()).isEqualTo(second.leaf().getSerialNumber());
        } finally {
            trail.close();
        }
    }
}
