package dev.toolgate.config;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * What every reloader over a {@link FileWatch} does with the outcome of a reload, in one place: counts the refused
 * ones, logs a refusal at ERROR naming the version kept, and tells its listeners (a listener that throws is logged
 * and skipped, never stops the others or the reload). Used by the policy and the route reloaders, which keep their
 * own logger and wording.
 *
 * <p>Thread-safe.
 *
 * @param <T> what a successful reload puts in force
 * @param <E> what a refused one fails with
 */
public final class ReloadNotices<T, E extends Exception> {

    /** Told of every reload that changed something or failed. Must not block. */
    public interface Listener<T, E extends Exception> {
        /** A changed set is now in force. */
        default void reloaded(T next) {}

        /** A change was refused; the previous set stays in force. */
        default void failed(E error) {}
    }

    private final Logger log;
    private final String what;
    private final String refusedLine;
    private final AtomicLong failures = new AtomicLong();
    private final List<Listener<T, E>> listeners = new CopyOnWriteArrayList<>();

    /**
     * @param log         the reloader's own logger
     * @param what        what is reloaded, in listener failure lines ({@code policy}, {@code route})
     * @param refusedLine the ERROR line of a refusal, with {@code {}} for the version kept and for the error
     */
    public ReloadNotices(Logger log, String what, String refusedLine) {
        this.log = requireNonNull(log, "log");
        this.what = requireNonNull(what, "what");
        this.refusedLine = requireNonNull(refusedLine, "refusedLine");
    }

    /** Adds a listener. */
    public void add(Listener<T, E> listener) {
        listeners.add(requireNonNull(listener, "listener"));
    }

    /** How many reloads were refused since the start. */
    public long failures() {
        return failures.get();
    }

    /** A new set is in force: tells the listeners. */
    public void reloaded(T next) {
        for (Listener<T, E> l : listeners) {
            try {
                l.reloaded(next);
            } catch (RuntimeException e) {
                log.warn("{} listener failed on reload: {}", what, e.toString());
            }
        }
    }

    /** A change was refused and {@code keptVersion} stays in force: counts, logs and tells the listeners. */
    public void failed(E error, String keptVersion) {
        failures.incrementAndGet();
        log.error(refusedLine, keptVersion, error.getMessage());
        for (Listener<T, E> l : listeners) {
            try {
                l.failed(error);
            } catch (RuntimeException ex) {
                log.warn("{} listener failed on a load error: {}", what, ex.toString());
            }
        }
    }
}
