package dev.toolgate.config;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A route set as read from its files ({@link ConfigLoader#loadRoutes(List)}): the routes, validated one by one and
 * for unique names and matches; the files they came from; where each route is written, so a problem found later
 * (a credential that does not load, a policy rule the set would orphan) can name the file and line; and the set's
 * version.
 *
 * @param routes  the routes, in file order
 * @param files   the route files read, in order
 * @param origins route name to {@code file:line} of its entry
 * @param version {@link #versionOf} the routes
 */
public record LoadedRoutes(List<RouteConfig> routes, List<Path> files, Map<String, String> origins, String version) {

    public LoadedRoutes {
        routes = List.copyOf(routes);
        files = List.copyOf(files);
        origins = Map.copyOf(origins);
        requireNonNull(version, "version");
    }

    /** Where route {@code name} is written ({@code file:line}), or {@code "route " + name} when unknown. */
    public String origin(String name) {
        return origins.getOrDefault(name, "route " + name);
    }

    /**
     * The version of a route set: the first 12 hex digits of SHA-256 over the routes as loaded, sorted by name.
     * Comments, layout, key order, route order and which file a route is in do not change it; any setting does.
     */
    public static String versionOf(List<RouteConfig> routes) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            // Records print every component (strings, URIs, durations, paths) deterministically.
            for (RouteConfig r : routes.stream().sorted(Comparator.comparing(RouteConfig::name)).toList()) {
                sha.update(r.toString().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) '\n');
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
