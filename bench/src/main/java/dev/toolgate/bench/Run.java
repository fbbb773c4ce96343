package dev.toolgate.bench;

import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What all connections of one load run share: the schedule's reference times and the counters. Recording is
 * thread-safe ({@link Recorder}, {@link LongAdder}); the times are fixed before any connection starts.
 */
final class Run {
    /** Latencies are recorded in nanoseconds; anything above a minute is clamped to it. */
    static final long MAX_LATENCY_NANOS = 60_000_000_000L;

    final boolean openLoop;
    /** Nanoseconds between two intended sends over the whole run (open loop only). */
    final double periodNanos;
    private final long warmupNanos;
    private final long durationNanos;
    // set once by begin(), before any connection starts (published through the event loops' task queues)
    long start;
    long measureStart;
    long end;

    private final Recorder recorder = new Recorder(MAX_LATENCY_NANOS, 3);
    final LongAdder sentMeasured = new LongAdder();
    final LongAdder completedMeasured = new LongAdder();
    final LongAdder completedTotal = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder inFlight = new LongAdder();
    volatile String firstError;
    volatile String tlsSession;

    Run(int rate, long warmupNanos, long durationNanos) {
        this.openLoop = rate > 0;
        this.periodNanos = rate > 0 ? 1e9 / rate : 0;
        this.warmupNanos = warmupNanos;
        this.durationNanos = durationNanos;
    }

    /** Fixes the schedule: request 0 is intended at {@code startNanos}; the window opens after the warmup. */
    void begin(long startNanos) {
        this.start = startNanos;
        this.measureStart = startNanos + warmupNanos;
        this.end = measureStart + durationNanos;
    }

    /** Open loop: how many requests the schedule puts in the measured window. */
    long intendedInWindow() {
        if (!openLoop) {
            return 0;
        }
        return firstAtOrAfter(end) - firstAtOrAfter(measureStart);
    }

    private long firstAtOrAfter(long t) {
        long i = (long) Math.ceil((t - start) / periodNanos);
        while (i > 0 && intended(i - 1) >= t) {
            i--;
        }
        while (intended(i) < t) {
            i++;
        }
        return i;
    }

    /** Intended send time of request number {@code i} (open loop). */
    long intended(long i) {
        return start + (long) (i * periodNanos);
    }

    boolean measured(long startRef) {
        return startRef >= measureStart && startRef < end;
    }

    void sent(long startRef) {
        inFlight.increment();
        if (measured(startRef)) {
            sentMeasured.increment();
        }
    }

    /**
     * A request that was meant to start at {@code startRef} (open loop: its intended send time, so time spent
     * waiting for a free connection counts: no coordinated omission) ended at {@code now}.
     */
    void completed(long startRef, long now, boolean ok, String error) {
        inFlight.decrement();
        if (!ok) {
            errors.increment();
            if (firstError == null) {
                firstError = error;
            }
            return;
        }
        completedTotal.increment();
        if (measured(startRef)) {
            completedMeasured.increment();
            recorder.recordValue(Math.min(Math.max(now - startRef, 0), MAX_LATENCY_NANOS));
        }
    }

    void failed(String error) {
        errors.increment();
        if (firstError == null) {
            firstError = error;
        }
    }

    /** The latencies recorded so far (call once, at the end). */
    Histogram histogram() {
        return recorder.getIntervalHistogram();
    }
}
