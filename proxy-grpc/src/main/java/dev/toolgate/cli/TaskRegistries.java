package dev.toolgate.cli;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.GrantStore;
import dev.toolgate.grant.JournalGrantStore;
import dev.toolgate.grant.MemoryGrantStore;
import dev.toolgate.grant.TaskRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.stream.Collectors;

/** Opens the task registry a configuration describes: its store, its routes, lifecycle records to the audit trail. */
public final class TaskRegistries {
    private TaskRegistries() {}

    /**
     * @throws IOException if the task journal cannot be opened or is corrupt (the sidecar must not start with a
     *                     partial view of revocations)
     */
    public static TaskRegistry open(SidecarConfig cfg, AuditTrail audit) throws IOException {
        GrantStore store = cfg.tasks().journal() == null ? new MemoryGrantStore()
                : JournalGrantStore.open(cfg.tasks().journal(), cfg.tasks().fsync().equals("never")
                        ? JournalGrantStore.FsyncPolicy.NEVER : JournalGrantStore.FsyncPolicy.ALWAYS);
        return TaskRegistry.open(cfg.tasks(), store,
                cfg.routes().stream().map(RouteConfig::name).collect(Collectors.toSet()),
                new TaskLifecycleAudit(audit, Clock.systemUTC(), cfg.audit().maxWait()));
    }
}
