package dev.toolgate.fleet;

import dev.toolgate.config.EtcdConfig;
import dev.toolgate.grant.TaskStore;
import dev.toolgate.grant.TaskStoreContract;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The etcd store passes the same contract as the journal and memory stores, against a real one-member etcd; each
 * test has a key prefix of its own, and a reopen in a test reopens the same prefix.
 */
class EtcdTaskStoreContractTest extends TaskStoreContract {
    @RegisterExtension
    static final EtcdExtension ETCD = new EtcdExtension(1);

    private final String prefix = ETCD.prefix();

    @Override
    protected TaskStore open(Path dir) throws IOException {
        return EtcdTaskStore.open(EtcdConfig.defaults().withEndpoints(ETCD.cluster().endpoints()).withPrefix(prefix));
    }

    @Override
    protected boolean durable() {
        return true;
    }
}
