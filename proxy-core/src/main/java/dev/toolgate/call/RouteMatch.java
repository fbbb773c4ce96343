package dev.toolgate.call;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.RouteConfig;

/**
 * The route a request matched and the path it is forwarded with.
 *
 * @param route        the matched route
 * @param upstreamPath the path sent upstream: the upstream's base path plus what follows the route prefix
 *                     (prefix routes), or the request path unchanged (gRPC routes); always starts with '/'
 * @param routePath    the path grants are matched against: what follows the route prefix ({@code /} when nothing
 *                     does) on prefix routes, the request path on gRPC routes; always starts with '/'
 */
public record RouteMatch(RouteConfig route, String upstreamPath, String routePath) {
    public RouteMatch {
        requireNonNull(route, "route");
        requireNonNull(upstreamPath, "upstreamPath");
        requireNonNull(routePath, "routePath");
    }
}
