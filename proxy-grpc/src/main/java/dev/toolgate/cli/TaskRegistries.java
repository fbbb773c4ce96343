package dev.toolgate.cli;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.TaskStore;
import dev.toolgate.grant.JournalTaskStore;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.TaskRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.policy.PolicyException;
import dev.toolgate.policy.PolicySet;
import dev.toolgate.policy.PolicyWatcher;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/** Opens the task registry a configuration describes: its store, its routes, lifecycle records to the audit trail. */
public final class TaskRegistries {
    /** How often policy and route files are checked for changes. */
    static final Duration RELOAD_INTERVAL = Duration.ofSeconds(2);

    private TaskRegistries() {}

    /**
     * @throws IOException if the task journal cannot be opened or is corrupt (the sidecar must not start with a
     *                     partial view of revocations)
     */
    public static TaskRegistry open(SidecarConfig cfg, AuditTrail audit) throws IOException {
        return open(cfg, audit, PolicySet::unrestricted);
    }

    /** With the policy in force read from {@code policy} on every start and call. */
    public static TaskRegistry open(SidecarConfig cfg, AuditTrail audit, Supplier<PolicySet> policy)
            throws IOException {
        TaskStore store = cfg.tasks().journal() == null ? new MemoryTaskStore()
                : JournalTaskStore.open(cfg.tasks().journal(), cfg.tasks().fsync().equals("never")
                        ? JournalTaskStore.FsyncPolicy.NEVER : JournalTaskStore.FsyncPolicy.ALWAYS);
        try {
            return TaskRegistry.open(cfg.tasks(), cfg.access(), store,
                    cfg.routes().stream().map(RouteConfig::name).collect(Collectors.toSet()),
                    Clock.systemUTC(), Ticker.systemTicker(),
                    new TaskLifecycleAudit(audit, Clock.systemUTC(), cfg.audit().maxWait()), policy);
        } catch (UncheckedIOException e) {
            // The store's state did not load: close it and fail the start, never run with a partial view.
            try {
                store.close();
            } catch (IOException suppressed) {
                e.getCause().addSuppressed(suppressed);
            }
            throw e.getCause();
        }
    }

    /**
     * The policy documents the configuration names, loaded now and watched for changes; null when it names none
     * (grants are then limited by routes and lifetimes only).
     *
     * @throws PolicyException if they do not load (the sidecar must not start without the policy it was given)
     */
    public static PolicyWatcher policies(SidecarConfig cfg) throws PolicyException {
        if (cfg.policies().isEmpty()) {
            return null;
        }
        return PolicyWatcher.start(cfg.policies(), cfg.routes(), RELOAD_INTERVAL);
    }
}
