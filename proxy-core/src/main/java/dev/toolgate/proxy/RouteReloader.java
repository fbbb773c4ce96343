package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.ConfigException;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.FileWatch;
import dev.toolgate.config.LoadedRoutes;
import dev.toolgate.config.ReloadNotices;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.policy.PolicyException;
import dev.toolgate.policy.PolicyWatcher;
import dev.toolgate.telemetry.ProxyMetrics;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Route hot reload: follows the route files of a running {@link ProxyServer} and, when one is added, removed or
 * changed (also through a Kubernetes ConfigMap symlink swap), loads the whole set again and puts it in force only
 * if all of it holds:
 *
 * <ol>
 *   <li>every file parses and every route is valid, names and matches unique ({@link ConfigLoader#loadRoutes(List)},
 *       the same checks as at start);
 *   <li>every credential loads (a static secret's file or variable exists and holds a usable secret) and every
 *       upstream's TLS context can be built;
 *   <li>the policy in force still compiles against the new routes: a change that removes a route or label a policy
 *       rule names, or gives a route a protocol its rules' operations cannot match, is refused whole, routes and
 *       policy both staying as they were (the policy is the security team's: a route change must not silently
 *       orphan one of its rules).
 * </ol>
 *
 * <p>Then the new {@link RouteSnapshot} replaces the old one in one step: requests that start afterwards use it,
 * those in flight finish on the set they started with. Any error keeps the set in force, logs file, line and
 * reason at ERROR, and raises {@link #failures()} (counter {@code toolgate_routes_reload_failures_total}); the next
 * change is tried again. The version in force is logged on every reload and exported as {@code
 * toolgate_routes_version{version}}. Listener, identity, limits and the default timeouts are not reloaded.
 *
 * <p>Thread-safe: reloads run one at a time (on the polling thread, or on the caller of {@link #checkNow}).
 */
public final class RouteReloader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RouteReloader.class);
    /** The counter of refused route reloads ({@code toolgate_routes_reload_failures_total}). */
    static final String RELOAD_FAILURES = "toolgate.routes.reload.failures";
    static final String RELOAD_FAILURES_HELP = "Route reloads refused (the old routes stayed in force)";

    /** Told of every reload attempt that changed something or failed. Called with the reload lock held. */
    public interface Listener extends ReloadNotices.Listener<RouteSnapshot, ConfigException> {}

    private final ProxyServer server;
    private final List<Path> sources;
    private final PolicyWatcher policy;
    private final ReloadNotices<RouteSnapshot, ConfigException> notices = new ReloadNotices<>(log, "route",
            "route files changed but are refused; keeping version {}: {}");
    private FileWatch files;

    private RouteReloader(ProxyServer server, List<Path> sources, PolicyWatcher policy) {
        this.server = server;
        this.sources = List.copyOf(sources);
        this.policy = policy;
    }

    /**
     * Starts following {@code sources} (the route files and directories of the sidecar configuration, {@link
     * dev.toolgate.config.SidecarConfig#routeSources()}), checking them every {@code interval}. A change made since
     * the server loaded its routes is taken up at once.
     *
     * @param policy  the policy in force, checked against every new route set; null when no policy is configured
     * @param metrics where {@code toolgate_routes_reload_failures_total} is exported
     * @throws ConfigException if the route files cannot even be listed now
     */
    public static RouteReloader start(ProxyServer server, List<Path> sources, PolicyWatcher policy,
                                      ProxyMetrics metrics, Duration interval) throws ConfigException {
        requireNonNull(server, "server");
        requireNonNull(sources, "sources");
        requireNonNull(metrics, "metrics");
        requireNonNull(interval, "interval");
        RouteReloader r = new RouteReloader(server, sources, policy);
        try {
            r.files = FileWatch.of("routes", () -> ConfigLoader.routeFiles(r.sources), r.new Reaction());
        } catch (IOException e) {
            throw new ConfigException("cannot read the route files: " + e.getMessage(), e);
        }
        metrics.counter(RELOAD_FAILURES, RELOAD_FAILURES_HELP, r, RouteReloader::failures);
        synchronized (r.files) {
            // The files may have changed between the configuration's load and now.
            r.reload();
        }
        r.files.start(interval);
        return r;
    }

    /**
     * Checks the files now (what the polling thread does every interval) and reloads if they changed.
     *
     * @return whether a new route set is now in force
     */
    public boolean checkNow() {
        return files.poll();
    }

    /** How many changes were refused since the start. */
    public long failures() {
        return notices.failures();
    }

    /** The version of the route set in force. */
    public String version() {
        return server.routeSet().version();
    }

    public void addListener(Listener listener) {
        notices.add(requireNonNull(listener, "listener"));
    }

    /** What the file watch does on a change. */
    private final class Reaction implements FileWatch.Reaction {
        @Override
        public boolean changed() {
            return reload();
        }

        @Override
        public void unreadable(Exception e) {
            failed(e instanceof ConfigException c ? c
                    : new ConfigException("cannot read the route files: " + e.getMessage(), e));
        }
    }

    /** Loads, checks and swaps; called with the file watch's lock held. */
    private boolean reload() {
        RouteSnapshot current = server.routeSet();
        try {
            LoadedRoutes next = ConfigLoader.loadRoutes(sources);
            if (next.version().equals(current.version())) {
                log.debug("route files changed, routes did not (version {})", current.version());
                return false;
            }
            RouteSnapshot prepared = server.prepare(next);
            if (policy != null) {
                try {
                    // Compiles the policy files against the new routes and swaps the result in; throws, changing
                    // nothing, when a rule would be orphaned. Past this point nothing can fail.
                    policy.updateRoutes(next.routes());
                } catch (PolicyException e) {
                    throw new ConfigException("the policy in force does not hold with these routes, so they are"
                            + " refused (change the policy first, or with them): " + e.getMessage(), e);
                }
            }
            server.install(prepared);
            log.info("routes reloaded: version {} -> {}, routes {} (from {})", current.version(), prepared.version(),
                    prepared.routes().stream().map(RouteConfig::name).sorted().toList(), next.files());
            notices.reloaded(prepared);
            return true;
        } catch (ConfigException e) {
            failed(e);
            return false;
        }
    }

    private void failed(ConfigException e) {
        notices.failed(e, server.routeSet().version());
    }

    /** Stops following the files; the routes in force stay. */
    @Override
    public void close() {
        files.close();
    }
}
