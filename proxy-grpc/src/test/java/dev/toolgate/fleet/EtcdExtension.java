package dev.toolgate.fleet;

import dev.toolgate.config.EtcdConfig;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.SpiffeId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts a real etcd cluster of {@code size} members before a test class and kills it after:
 * {@code @RegisterExtension static final EtcdExtension ETCD = new EtcdExtension(1);}. A class is skipped, with
 * the reason, only when no etcd binary is installed and not under {@code CI=true} (CI installs {@code etcd-server}:
 * {@code .ci/run}; there a missing binary fails the class). Each test
 * takes a key prefix of its own from {@link #prefix}, so tests of one class share the cluster without seeing each
 * other's keys.
 */
final class EtcdExtension implements BeforeAllCallback, AfterAllCallback {
    private static final SpiffeId ETCD_SERVER = SpiffeId.parse("spiffe://toolgate.test/etcd/server");
    private static final SpiffeId ETCD_CLIENT = SpiffeId.parse("spiffe://toolgate.test/toolgate/sidecar");

    private final int size;
    private final boolean tls;
    private final AtomicInteger prefixes = new AtomicInteger();
    private EtcdCluster cluster;
    private Path pki;

    EtcdExtension(int size) {
        this(size, false);
    }

    /**
     * @param tls members serve clients over TLS and require a client certificate, both minted by a dev CA in a
     *            temporary directory ({@link #clientTls} names the client's files)
     */
    EtcdExtension(int size, boolean tls) {
        this.size = size;
        this.tls = tls;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (EtcdCluster.binary() == null && "true".equals(System.getenv("CI"))) {
            // CI installs it (.ci/run): a skip there would hide a missing install step behind a green run.
            throw new IllegalStateException("no etcd binary under CI=true (expected: .ci/run installs etcd-server)");
        }
        Assumptions.assumeTrue(EtcdCluster.binary() != null,
                "no etcd binary on this machine (apt-get install etcd-server, as .ci/run does): etcd tests skipped");
        if (!tls) {
            cluster = EtcdCluster.start(size);
            return;
        }
        pki = Files.createTempDirectory("toolgate-etcd-pki-");
        DevCa ca = DevCa.openOrCreate(pki.resolve("ca"), "toolgate.test");
        Path server = ca.issueTo(ETCD_SERVER, pki.resolve("server"));
        ca.issueTo(ETCD_CLIENT, pki.resolve("client"));
        cluster = EtcdCluster.start(size, new EtcdCluster.Tls(server.resolve("svid.pem"), server.resolve("svid.key"),
                server.resolve("bundle.pem")));
    }

    /** The client side of a TLS cluster: the CA, and a client certificate the members accept. */
    EtcdConfig.Tls clientTls() {
        Path client = pki.resolve("client");
        return new EtcdConfig.Tls(client.resolve("bundle.pem"), client.resolve("svid.pem"), client.resolve("svid.key"));
    }

    /** The client side of a TLS cluster without a client certificate (the members refuse it). */
    EtcdConfig.Tls clientTlsWithoutCertificate() {
        return new EtcdConfig.Tls(pki.resolve("client").resolve("bundle.pem"), null, null);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    EtcdCluster cluster() {
        return cluster;
    }

    /** A key prefix no other test of this class uses. */
    String prefix() {
        return "/toolgate-test-" + prefixes.incrementAndGet() + "/";
    }
}
