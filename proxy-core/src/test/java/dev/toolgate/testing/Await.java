package dev.toolgate.testing;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;

/**
 * Waits for something to happen: polls a condition every few milliseconds until it holds or a deadline passes,
 * then fails with an {@link AssertionError} naming what was awaited. The one place tests wait on the wall clock;
 * a test that needs time itself to pass (expiry) moves a {@link ManualClock} instead. Stateless, thread-safe.
 */
public final class Await {
    /** How long a test waits for something that should happen at once (generous for a loaded CI machine). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    private static final long POLL_MILLIS = 5;

    /** A condition that may throw (reads a file, parses JSON). */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    /** A probe that finds a value or returns an empty Optional (or null) when there is none yet. */
    @FunctionalInterface
    public interface Probe<T> {
        Optional<T> find() throws Exception;
    }

    private Await() {}

    /** Waits up to {@link #DEFAULT_TIMEOUT} for {@code condition}. */
    public static void until(String what, Condition condition) throws Exception {
        until(what, DEFAULT_TIMEOUT, condition);
    }

    /**
     * Waits up to {@code timeout} for {@code condition}.
     *
     * @throws AssertionError if it does not hold in time ("timed out after PT10S waiting for WHAT")
     */
    public static void until(String what, Duration timeout, Condition condition) throws Exception {
        requireNonNull(condition, "condition");
        value(what, timeout, () -> condition.holds() ? Optional.of(Boolean.TRUE) : Optional.empty());
    }

    /** Waits up to {@link #DEFAULT_TIMEOUT} for {@code probe} to find a value and returns it. */
    public static <T> T value(String what, Probe<T> probe) throws Exception {
        return value(what, DEFAULT_TIMEOUT, probe);
    }

    /**
     * Waits up to {@code timeout} for {@code probe} to find a value and returns it.
     *
     * @throws AssertionError if it finds none in time
     */
    public static <T> T value(String what, Duration timeout, Probe<T> probe) throws Exception {
        requireNonNull(what, "what");
        requireNonNull(probe, "probe");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<T> found = probe.find();
            if (found != null && found.isPresent()) {
                return found.get();
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(POLL_MILLIS);
        }
    }
}
