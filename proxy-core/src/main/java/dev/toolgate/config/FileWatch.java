package dev.toolgate.config;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices when a set of configuration files changes, for the reloaders of policy and routes: every interval it
 * lists the files again (directories may gain or lose files) and compares each file's real path, modification time
 * and size with what it saw last; on a difference it asks its {@link Reaction} to load the set again.
 *
 * <p>Polling, not file-watch events, because events are unreliable on the symlink swaps of mounted volumes: a
 * Kubernetes ConfigMap volume holds {@code name -> ..data/name} and replaces the {@code ..data} directory symlink
 * atomically, which changes every file's real path without touching the path watched.
 *
 * <p>Thread-safe: {@link #poll} is synchronized, so a reaction never runs twice at once; the polling thread is a
 * daemon and survives a reaction that throws (logged, retried on the next change).
 */
public final class FileWatch implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FileWatch.class);

    /** Lists the files that make up the set now. */
    @FunctionalInterface
    public interface Lister<E extends Exception> {
        List<Path> files() throws E;
    }

    /** What a change leads to. Called with the watch's lock held; must not block for long. */
    public interface Reaction {
        /** The files changed: load, validate and swap the set; returns whether a new set is now in force. */
        boolean changed();

        /**
         * The files cannot be listed or examined (a directory gone, a permission); told once per distinct error
         * until the files can be read again.
         */
        void unreadable(Exception error);
    }

    private final String name;
    private final Lister<?> lister;
    private final Reaction reaction;
    private final ScheduledExecutorService poller;
    // Guarded by this: what the files looked like when last examined ("!" + message when they could not be).
    private String fingerprint;

    private FileWatch(String name, Lister<?> lister, Reaction reaction, String fingerprint) {
        this.name = name;
        this.lister = lister;
        this.reaction = reaction;
        this.fingerprint = fingerprint;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "toolgate-" + name + "-files");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Examines the files now, without polling yet: the caller loads the set next, so a change made in between is
     * seen by the first {@link #poll}. Start polling with {@link #start}.
     *
     * @param name     what is watched, for the thread name and logs ({@code policy}, {@code routes})
     * @throws E           if the files cannot be listed
     * @throws IOException if a listed file cannot be examined
     */
    public static <E extends Exception> FileWatch of(String name, Lister<E> files, Reaction reaction)
            throws E, IOException {
        requireNonNull(name, "name");
        requireNonNull(files, "files");
        requireNonNull(reaction, "reaction");
        return new FileWatch(name, files, reaction, fingerprint(files.files()));
    }

    /** Polls every {@code interval} (at least 10 ms) on a daemon thread until {@link #close}. */
    public void start(Duration interval) {
        long ms = Math.max(10, requireNonNull(interval, "interval").toMillis());
        poller.scheduleWithFixedDelay(this::pollQuietly, ms, ms, TimeUnit.MILLISECONDS);
    }

    /**
     * Examines the files now (what the polling thread does every interval) and, if they changed, runs the reaction.
     *
     * @return whether a new set is now in force
     */
    public synchronized boolean poll() {
        String now;
        try {
            now = fingerprint(lister.files());
        } catch (Exception e) {
            String marker = "!" + e.getMessage();
            if (!marker.equals(fingerprint)) {
                fingerprint = marker;
                reaction.unreadable(e);
            }
            return false;
        }
        if (now.equals(fingerprint)) {
            return false;
        }
        fingerprint = now;
        return reaction.changed();
    }

    private void pollQuietly() {
        try {
            poll();
        } catch (RuntimeException e) {
            // A bug must not stop the polling thread: the set in force stays, the next change is tried again.
            log.error("{} files: poll failed; keeping the set in force", name, e);
        }
    }

    /** Real path, modification time and size of every file, in order: what a change of the set changes. */
    static String fingerprint(List<Path> files) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Path p : files) {
            Path real = p.toRealPath();
            sb.append(p).append("->").append(real).append('@').append(Files.getLastModifiedTime(real).toMillis())
                    .append('/').append(Files.size(real)).append(';');
        }
        return sb.toString();
    }

    /** Stops polling; a {@link #poll} in progress finishes. */
    @Override
    public void close() {
        poller.shutdownNow();
    }
}
