package dev.toolgate.fleet;

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
    private final int size;
    private final AtomicInteger prefixes = new AtomicInteger();
    private EtcdCluster cluster;

    EtcdExtension(int size) {
        this.size = size;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (EtcdCluster.binary() == null && "true".equals(System.getenv("CI"))) {
            // CI installs it (.ci/run): a skip there would hide a missing install step behind a green run.
            throw new IllegalStateException("no etcd binary under CI=true (expected: .ci/run installs etcd-server)");
        }
        Assumptions.assumeTrue(EtcdCluster.binary() != null,
                "no etcd binary on this machine (apt-get install etcd-server, as .ci/run does): etcd tests skipped");
        cluster = EtcdCluster.start(size);
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
