package dev.toolgate.proxy;

import dev.toolgate.admission.Admission;
import dev.toolgate.config.LimitsConfig;
import dev.toolgate.credential.Credentials;
import dev.toolgate.mcp.McpToolDigests;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.ProxyMetrics;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What one agent listener hands its connections, each part a service of one concern: the route set the exchange
 * is judged and forwarded with ({@code snapshot}: its {@link Admission}, upstreams and credentials; {@code live}
 * gives the set in force now), the listener's limits and metrics, who may use it ({@link AgentAccess}), the audit
 * context every exchange writes its records through, the spans, the sidecar's own task endpoints ({@link TaskApi},
 * served off the event loop) and the tool digests of {@code tools/list} answers. Built once per listener by
 * {@link ProxyServer#start} (from the composition root, {@link SidecarBuilder}); nothing here is static or looked
 * up by name.
 *
 * <p>An exchange is handed {@link #pinned()} when it starts, so it keeps one route set to its end however often the
 * routes are reloaded meanwhile. Immutable and thread-safe (the upstreams' pools are confined per event loop).
 */
record ProxyRuntime(RouteSnapshot snapshot, Supplier<RouteSnapshot> live, LimitsConfig limits, ProxyMetrics metrics,
                    AgentAccess access, ExchangeAudit.Context audits, CallSpans spans, TaskApi taskApi,
                    McpToolDigests toolDigests) {

    /** This runtime with the route set in force now: what one exchange uses from its start to its end. */
    ProxyRuntime pinned() {
        RouteSnapshot now = live.get();
        return now == snapshot ? this : new ProxyRuntime(now, live, limits, metrics, access, audits, spans, taskApi,
                toolDigests);
    }

    /** How this runtime's route set judges a request. */
    Admission admission() {
        return snapshot.admission();
    }

    /** Each route's upstream in this route set. */
    Map<String, Upstream> upstreams() {
        return snapshot.upstreams();
    }

    /** The credentials this route set injects. */
    Credentials credentials() {
        return snapshot.credentials();
    }
}
