package dev.toolgate.proxy;

import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.authz.CallDecider;
import dev.toolgate.call.McpParser;
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

/**
 * What every exchange of one running proxy shares: the route table, each route's upstream, the limits, the
 * authorizer, the task endpoints (and the thread they run on), the audit trail (with each route's argument capture),
 * metrics and spans, and the JWT-SVID validator ({@code jwt}; null when the listener accepts client certificates
 * only).
 * Immutable and thread-safe (the upstreams' pools are confined per event loop).
 */
record ProxyRuntime(RouteTable routes, Map<String, Upstream> upstreams, LimitsConfig limits, AuditTrail audit,
                    long auditMaxWaitNanos, Clock clock, ProxyMetrics metrics, CallSpans spans,
                    List<SpiffeIdPattern> allowedIds, CallDecider decider, TaskApi taskApi,
                    Executor taskExecutor, Credentials credentials, McpParser mcpParser,
                    McpSessions mcpSessions, McpToolDigests toolDigests, JwtSvidValidator jwt,
                    Map<String, ArgumentCapture> captures) {
    ProxyRuntime {
        upstreams = Map.copyOf(upstreams);
        captures = Map.copyOf(captures);
        allowedIds = List.copyOf(allowedIds);
    }

    /** What the audit records of {@code route}'s call arguments ({@link ArgumentCapture#NONE}: the digest only). */
    ArgumentCapture capture(String route) {
        return captures.getOrDefault(route, ArgumentCapture.NONE);
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
