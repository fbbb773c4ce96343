package dev.toolgate.proxy;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.call.RouteTable;
import dev.toolgate.config.LimitsConfig;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.ProxyMetrics;
import java.time.Clock;
import java.util.Map;

/**
 * What every exchange of one running proxy shares: the route table, each route's upstream, the limits and the
 * audit trail, metrics and spans.
 * Immutable and thread-safe (the upstreams' pools are confined per event loop).
 */
record ProxyRuntime(RouteTable routes, Map<String, Upstream> upstreams, LimitsConfig limits, AuditTrail audit,
                    long auditMaxWaitNanos, Clock clock, ProxyMetrics metrics, CallSpans spans) {
    ProxyRuntime {
        upstreams = Map.copyOf(upstreams);
    }
}
