package dev.toolgate.grant;

import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.TasksConfig;
import java.io.IOException;

/**
 * Opens the {@link TaskStore} a sidecar configuration names ({@code tasks.store}). The composition root
 * ({@code SidecarBuilder}) opens its store through one of these, so a store that needs more than this module has
 * (the etcd store's gRPC client lives in proxy-grpc) is supplied by whoever assembles the sidecar; {@link #local}
 * opens the stores of this module and refuses the rest.
 *
 * <p>Implementations are stateless or thread-safe.
 */
@FunctionalInterface
public interface TaskStores {

    /**
     * Opens the store {@code config.tasks().store()} names; nothing has been loaded from it yet.
     *
     * @throws IOException if it cannot be opened (the message names the store and why)
     * @throws IllegalArgumentException if this opener does not provide that kind of store
     */
    TaskStore open(SidecarConfig config) throws IOException;

    /** The journal and memory stores; {@code etcd} is refused with where it is provided. */
    static TaskStores local() {
        return config -> {
            TasksConfig tasks = config.tasks();
            return switch (tasks.store()) {
                case TasksConfig.MEMORY -> new MemoryTaskStore();
                case TasksConfig.JOURNAL -> JournalTaskStore.open(tasks.journal(), tasks.fsync().equals("never")
                        ? JournalTaskStore.FsyncPolicy.NEVER : JournalTaskStore.FsyncPolicy.ALWAYS);
                default -> throw new IllegalArgumentException("tasks.store: " + tasks.store() + " is provided by the"
                        + " runnable sidecar (proxy-grpc: ./toolgate run), not by this composition (expected: journal"
                        + " or memory)");
            };
        };
    }
}
