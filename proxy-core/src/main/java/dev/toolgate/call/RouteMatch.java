package dev.toolgate.call;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.RouteConfig;

/**
 * The route a request matched and the path it is forwarded with.
 *
 * @param route        the matched route
 * @param upstreamPath the path sent upstream: the upstream's base path plus what follows the route prefix
 *                     (prefix routes), or the request path unchanged (gRPC routes); always starts with '/'
 */
public record RouteMatch(RouteConfig route, String upstreamPath) {
    public RouteMatch {
        requireNonNull(route, "route");
        requireNonNull(upstreamPath, "upstreamPath");
    }
}
