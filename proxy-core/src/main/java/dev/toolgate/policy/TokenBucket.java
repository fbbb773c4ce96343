package dev.toolgate.policy;

import static java.util.Objects.requireNonNull;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A lock-free token bucket: at most {@code burst} calls at once, refilled at {@code perSecond}. One per task or per
 * identity and limit, kept by the caller.
 *
 * <p>The whole state is one {@code long}, the theoretical arrival time of the next call (the generic cell rate
 * algorithm, equivalent to a token bucket): a call is admitted when, after adding one emission interval, that
 * time is no further ahead of now than {@code burst} intervals; the new time is set with a compare-and-set, so
 * concurrent callers never admit more than the bucket holds. Time comes from an injected nanosecond clock
 * ({@code System::nanoTime} in production, a hand-moved counter in tests); only differences are used, so the
 * clock may start anywhere and wrap.
 *
 * <p>Thread-safe and allocation-free.
 */
public final class TokenBucket {
    private final long interval;
    private final long tolerance;
    private final LongSupplier nanos;
    private final AtomicLong arrival;

    /**
     * A full bucket.
     *
     * @param perSecond calls per second refilled (> 0, at most 1e9)
     * @param burst     calls admitted at once when full (> 0)
     * @param nanos     the time in nanoseconds ({@code System::nanoTime})
     * @throws IllegalArgumentException for a rate or burst out of range
     */
    public TokenBucket(double perSecond, long burst, LongSupplier nanos) {
        if (!(perSecond > 0) || perSecond > 1e9) {
            throw new IllegalArgumentException("perSecond: " + perSecond + " (expected: > 0 and <= 1e9)");
        }
        this.interval = Math.max(1, Math.round(1e9 / perSecond));
        if (burst < 1 || burst > Long.MAX_VALUE / 4 / interval) {
            throw new IllegalArgumentException("burst: " + burst + " (expected: > 0 and small enough for the rate)");
        }
        this.tolerance = interval * burst;
        this.nanos = requireNonNull(nanos, "nanos");
        this.arrival = new AtomicLong(nanos.getAsLong());
    }

    /** Takes one token if there is one. */
    public boolean tryAcquire() {
        return tryAcquireOrDelay() == 0;
    }

    /**
     * Takes one token if there is one and returns 0; otherwise takes nothing and returns the nanoseconds until one
     * will be there (for a {@code Retry-After}).
     */
    public long tryAcquireOrDelay() {
        while (true) {
            long now = nanos.getAsLong();
            long tat = arrival.get();
            long base = tat - now < 0 ? now : tat;
            long next = base + interval;
            long ahead = next - now;
            if (ahead > tolerance) {
                return ahead - tolerance;
            }
            if (arrival.compareAndSet(tat, next)) {
                return 0;
            }
        }
    }

    @Override
    public String toString() {
        return "TokenBucket[interval=" + interval + "ns, burst=" + tolerance / interval + "]";
    }
}
