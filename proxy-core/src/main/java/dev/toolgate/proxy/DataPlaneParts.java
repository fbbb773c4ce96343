package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.approval.Approvals;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.credential.Credentials;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.JwtBundles;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.ProxyMetrics;
import java.time.Clock;

/**
 * Exactly what the agent listener needs to start, assembled by {@link SidecarBuilder}: the validated configuration,
 * the sidecar's TLS material and JWT bundles, the audit trail, tasks and approvals, the credentials of the first
 * route set, metrics, spans, the clock and the number of event loop threads ({@code 0}: one per core). Immutable.
 */
record DataPlaneParts(SidecarConfig config, TlsMaterial tls, JwtBundles jwtBundles, AuditTrail audit,
                      TaskRegistry tasks, Approvals approvals, Credentials credentials, ProxyMetrics metrics,
                      CallSpans spans, Clock clock, int workerThreads) {
    DataPlaneParts {
        requireNonNull(config, "config");
        requireNonNull(tls, "tls");
        requireNonNull(jwtBundles, "jwtBundles");
        requireNonNull(audit, "audit");
        requireNonNull(tasks, "tasks");
        requireNonNull(approvals, "approvals");
        requireNonNull(credentials, "credentials");
        requireNonNull(metrics, "metrics");
        requireNonNull(spans, "spans");
        requireNonNull(clock, "clock");
        if (workerThreads < 0) {
            throw new IllegalArgumentException("workerThreads: " + workerThreads + " (expected: >= 0)");
        }
    }
}
