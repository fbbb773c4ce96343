package dev.toolgate.proxy;

import dev.toolgate.call.RouteTable;
import dev.toolgate.config.LimitsConfig;
import java.util.Map;

/**
 * What every exchange of one running proxy shares: the route table, each route's upstream and the limits.
 * Immutable and thread-safe (the upstreams' pools are confined per event loop).
 */
record ProxyRuntime(RouteTable routes, Map<String, Upstream> upstreams, LimitsConfig limits) {
    ProxyRuntime {
        upstreams = Map.copyOf(upstreams);
    }
}
