package dev.toolgate.fleet;

import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.grant.TaskStore;
import dev.toolgate.grant.TaskStores;
import java.io.IOException;

/**
 * The task stores of the runnable sidecar: {@code tasks.store: etcd} opens an {@link EtcdTaskStore} on the
 * configuration's {@code etcd} section, bounded by its {@code fleet.maxStaleness}; the journal and memory stores are
 * proxy-core's ({@link TaskStores#local}). Give it to {@code ProxyServer.builder(config).taskStores(...)}. Stateless and thread-safe.
 */
public final class FleetTaskStores implements TaskStores {
    private static final TaskStores LOCAL = TaskStores.local();

    private FleetTaskStores() {}

    /** Every store kind a sidecar configuration may name. */
    public static TaskStores all() {
        return new FleetTaskStores();
    }

    @Override
    public TaskStore open(SidecarConfig config) throws IOException {
        return TasksConfig.ETCD.equals(config.tasks().store()) ? EtcdTaskStore.open(config.etcd(), config.fleet())
                : LOCAL.open(config);
    }
}
