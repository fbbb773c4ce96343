package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.policy.PolicyWatcher;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the sidecar can do its job now, as {@code /readyz} and gRPC health report it: the data plane listens,
 * the audit trail takes records, the sidecar's own SVID is within its validity (a SPIRE agent that stopped
 * rotating it shows here before handshakes fail), the task store takes changes, and a policy is loaded (when
 * policies are configured). A change of state is logged once, naming the checks that fail.
 *
 * <p>Thread-safe.
 */
public final class Readiness implements BooleanSupplier {
    private static final Logger log = LoggerFactory.getLogger(Readiness.class);

    private final ProxyServer server;
    private final AuditTrail audit;
    private final TlsMaterial tls;
    private final TaskRegistry tasks;
    private final PolicyWatcher policies;
    private final Clock clock;
    private volatile List<String> lastFailing = List.of();

    /** @param policies the policy watcher, or null when no policies are configured */
    public Readiness(ProxyServer server, AuditTrail audit, TlsMaterial tls, TaskRegistry tasks,
                     PolicyWatcher policies, Clock clock) {
        this.server = requireNonNull(server, "server");
        this.audit = requireNonNull(audit, "audit");
        this.tls = requireNonNull(tls, "tls");
        this.tasks = requireNonNull(tasks, "tasks");
        this.policies = policies;
        this.clock = requireNonNull(clock, "clock");
    }

    /** The checks that fail now (empty when ready). */
    public List<String> failing() {
        List<String> failing = new ArrayList<>(2);
        if (!server.isListening()) {
            failing.add("data plane not listening");
        }
        if (audit.isClosed()) {
            failing.add("audit trail closed");
        } else if (!audit.available()) {
            failing.add("audit sink failing (disk full or hung): calls are refused 503 audit_unavailable");
        }
        if (!tls.svid().leaf().getNotAfter().toInstant().isAfter(clock.instant())) {
            failing.add("own SVID expired at " + tls.svid().leaf().getNotAfter().toInstant());
        }
        if (!tasks.storeHealthy()) {
            failing.add("task store does not take changes");
        }
        String stale = tasks.staleness();
        if (stale != null) {
            failing.add(stale);
        }
        if (policies != null && policies.current() == null) {
            failing.add("no policy loaded");
        }
        return failing;
    }

    @Override
    public boolean getAsBoolean() {
        List<String> failing = failing();
        if (!failing.equals(lastFailing)) {
            lastFailing = failing;
            if (failing.isEmpty()) {
                log.info("ready");
            } else {
                log.warn("not ready: {}", String.join("; ", failing));
            }
        }
        return failing.isEmpty();
    }
}
