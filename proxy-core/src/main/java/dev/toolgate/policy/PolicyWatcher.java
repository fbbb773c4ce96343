package dev.toolgate.policy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.FileWatch;
import dev.toolgate.config.ReloadNotices;
import dev.toolgate.config.RouteConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy in force, following its files: when a policy file is added, removed or changed (also through a
 * symlink swap, as Kubernetes does for a mounted ConfigMap), the whole set is read and compiled again and, only if
 * that succeeds, swapped in atomically; calls decided afterwards see the new set. A set that does not load keeps
 * the previous one in force; the error (file, line, reason) is logged at ERROR, {@link #failures()} goes up and the
 * listeners hear of it. The next change is tried again.
 *
 * <p>The files are polled by a {@link FileWatch} (one stat per file and directory per interval) because file-watch
 * events are unreliable on the symlink swaps of mounted volumes; a file's identity is its real path, modification
 * time and size.
 *
 * <p>Thread-safe. {@link #current()} is one volatile read. {@link #close} stops the polling.
 */
public final class PolicyWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PolicyWatcher.class);

    /** Told of every reload attempt. Called on the polling thread; must not block. */
    public interface Listener extends ReloadNotices.Listener<PolicySet, PolicyException> {}

    private final List<Path> sources;
    private final AtomicReference<PolicySet> current = new AtomicReference<>();
    private final ReloadNotices<PolicySet, PolicyException> notices = new ReloadNotices<>(log, "policy",
            "policy files changed but do not load; keeping version {}: {}");
    private FileWatch files;
    // Guarded by this: the routes documents are checked against.
    private List<RouteConfig> routes;

    private PolicyWatcher(List<Path> sources, List<RouteConfig> routes) {
        this.sources = List.copyOf(sources);
        this.routes = List.copyOf(routes);
    }

    /**
     * Loads the policy now (failing if it does not load: a sidecar must not start without the policy it was given)
     * and checks the files for changes every {@code interval}.
     *
     * @throws PolicyException if the files do not load now
     */
    public static PolicyWatcher start(List<Path> sources, List<RouteConfig> routes, Duration interval)
            throws PolicyException {
        requireNonNull(sources, "sources");
        requireNonNull(routes, "routes");
        requireNonNull(interval, "interval");
        PolicyWatcher w = new PolicyWatcher(sources, routes);
        synchronized (w) {
            try {
                w.files = FileWatch.of("policy", () -> PolicyLoader.files(w.sources), w.new Reaction());
            } catch (IOException e) {
                throw new PolicyException("cannot read the policy files: " + e.getMessage(), e);
            }
            try {
                w.current.set(PolicyLoader.load(w.sources, w.routes));
            } catch (PolicyException e) {
                w.files.close();
                throw e;
            }
        }
        w.files.start(interval);
        return w;
    }

    /** The policy in force. */
    public PolicySet current() {
        return current.get();
    }

    /** How many changes did not load since the start. */
    public long failures() {
        return notices.failures();
    }

    public void addListener(Listener listener) {
        notices.add(requireNonNull(listener, "listener"));
    }

    /**
     * Checks the files now (what the polling thread does every interval) and reloads if they changed.
     *
     * @return whether a new set is now in force
     */
    public boolean poll() {
        return files.poll();
    }

    /**
     * Compiles the current files against new routes (after a route reload) and swaps the result in.
     *
     * @throws PolicyException if the documents do not hold with these routes; the previous set and routes stay
     */
    public synchronized void updateRoutes(List<RouteConfig> newRoutes) throws PolicyException {
        List<RouteConfig> copy = List.copyOf(newRoutes);
        PolicySet next = PolicyLoader.load(sources, copy);
        routes = copy;
        swap(next);
    }

    /** What the file watch does on a change. */
    private final class Reaction implements FileWatch.Reaction {
        @Override
        public boolean changed() {
            synchronized (PolicyWatcher.this) {
                try {
                    swap(PolicyLoader.load(sources, routes));
                    return true;
                } catch (PolicyException e) {
                    failed(e);
                    return false;
                }
            }
        }

        @Override
        public void unreadable(Exception e) {
            synchronized (PolicyWatcher.this) {
                failed(e instanceof PolicyException p ? p
                        : new PolicyException("cannot read the policy files: " + e.getMessage(), e));
            }
        }
    }

    private void swap(PolicySet next) {
        PolicySet previous = current.getAndSet(next);
        if (previous.version().equals(next.version())) {
            log.debug("policy files changed, content did not (version {})", next.version());
            return;
        }
        log.info("policy reloaded: version {} -> {}, documents {}", previous.version(), next.version(),
                next.documents());
        notices.reloaded(next);
    }

    private void failed(PolicyException e) {
        notices.failed(e, current.get().version());
    }

    @Override
    public void close() {
        files.close();
    }
}
