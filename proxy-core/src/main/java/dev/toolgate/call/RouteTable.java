package dev.toolgate.call;

import dev.toolgate.config.RouteConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Matches a normalized request path to a route.
 *
 * <p>Prefix routes match on whole segments ({@code /api/weather} matches {@code /api/weather} and
 * {@code /api/weather/x}, never {@code /api/weatherman}); the longest matching prefix wins and is stripped.
 * gRPC routes match {@code /package.Service/Method} by service name and keep the path. Matching is
 * case-sensitive and ignores the Host header (a sidecar serves one workload).
 *
 * <p>Immutable and thread-safe; a lookup does at most one map probe per path segment.
 */
public final class RouteTable {

    private final Map<String, RouteConfig> byPrefix;
    private final Map<String, RouteConfig> byGrpcService;

    private RouteTable(Map<String, RouteConfig> byPrefix, Map<String, RouteConfig> byGrpcService) {
        this.byPrefix = byPrefix;
        this.byGrpcService = byGrpcService;
    }

    /** Builds the table; route uniqueness was checked when the configuration was loaded. */
    public static RouteTable of(List<RouteConfig> routes) {
        Map<String, RouteConfig> prefixes = new HashMap<>();
        Map<String, RouteConfig> services = new HashMap<>();
        for (RouteConfig r : routes) {
            if (r.prefix() != null) {
                prefixes.put(r.prefix(), r);
            } else {
                services.put(r.grpc(), r);
            }
        }
        return new RouteTable(Map.copyOf(prefixes), Map.copyOf(services));
    }

    /**
     * The route for {@code path} (a path produced by {@link PathNormalizer}), or {@code null} when none matches.
     */
    public RouteMatch match(String path) {
        int second = path.indexOf('/', 1);
        if (second > 1 && !byGrpcService.isEmpty()) {
            RouteConfig grpc = byGrpcService.get(path.substring(1, second));
            if (grpc != null) {
                return new RouteMatch(grpc, path, path);
            }
        }
        // Try the whole path, then each shorter segment boundary: longest prefix first.
        int end = path.endsWith("/") ? path.length() - 1 : path.length();
        while (end > 0) {
            RouteConfig r = byPrefix.get(path.substring(0, end));
            if (r != null) {
                String rest = path.substring(end);
                String base = r.upstream().basePath();
                String upstreamPath = rest.isEmpty() ? (base.isEmpty() ? "/" : base) : base + rest;
                return new RouteMatch(r, upstreamPath, rest.isEmpty() ? "/" : rest);
            }
            end = path.lastIndexOf('/', end - 1);
        }
        return null;
    }
}
