package dev.toolgate.proxy;

import dev.toolgate.mcp.McpToolDigests;
import dev.toolgate.admission.Admission;
import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.authz.CallDecider;
import dev.toolgate.call.RouteTable;
import dev.toolgate.config.LimitsConfig;
import dev.toolgate.credential.Credentials;
import dev.toolgate.identity.JwtSvidValidator;
import dev.toolgate.identity.SpiffeIdPattern;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.ProxyMetrics;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * What every exchange of one running proxy shares: the route set (route table, each route's upstream, the
 * authorizer, the credentials, each route's argument capture), the limits, the task endpoints (and the thread they
 * run on), the audit trail, metrics and spans, the MCP session bindings and tool digests, and the JWT-SVID
 * validator ({@code jwt}; null when the listener accepts client certificates only).
 *
 * <p>{@code snapshot} is the route set this runtime answers with; {@code live} gives the one in force now. An
 * exchange is handed {@link #pinned()} when it starts, so it keeps one route set to its end however often the
 * routes are reloaded meanwhile. Immutable and thread-safe (the upstreams' pools are confined per event loop).
 */
record ProxyRuntime(RouteSnapshot snapshot, Supplier<RouteSnapshot> live, LimitsConfig limits, AuditTrail audit,
                    long auditMaxWaitNanos, Clock clock, ProxyMetrics metrics, CallSpans spans,
                    List<SpiffeIdPattern> allowedIds, TaskApi taskApi, Executor taskExecutor,
                    McpToolDigests toolDigests, JwtSvidValidator jwt) {
    ProxyRuntime {
        allowedIds = List.copyOf(allowedIds);
    }

    /** This runtime with the route set in force now: what one exchange uses from its start to its end. */
    ProxyRuntime pinned() {
        RouteSnapshot now = live.get();
        return now == snapshot ? this : new ProxyRuntime(now, live, limits, audit, auditMaxWaitNanos, clock, metrics,
                spans, allowedIds, taskApi, taskExecutor, toolDigests, jwt);
    }

    RouteTable routes() {
        return snapshot.table();
    }

    Map<String, Upstream> upstreams() {
        return snapshot.upstreams();
    }

    CallDecider decider() {
        return snapshot.decider();
    }

    /** How this runtime's route set judges a request. */
    Admission admission() {
        return snapshot.admission();
    }

    Credentials credentials() {
        return snapshot.credentials();
    }

    /** What the audit records of {@code route}'s call arguments ({@link ArgumentCapture#NONE}: the digest only). */
    ArgumentCapture capture(String route) {
        return snapshot.capture(route);
    }

    /** Whether an agent with this (verified) ID may use the listener. */
    boolean allowed(dev.toolgate.identity.SpiffeId id) {
        if (allowedIds.isEmpty()) {
            return true;
        }
        for (SpiffeIdPattern p : allowedIds) {
            if (p.matches(id)) {
                return true;
            }
        }
        return false;
    }
}
