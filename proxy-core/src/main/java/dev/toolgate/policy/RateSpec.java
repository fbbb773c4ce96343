package dev.toolgate.policy;

import java.util.function.LongSupplier;

/**
 * A rate limit of an allow rule ({@code rate: {perSecond: 5, burst: 10}}), applied per task by the caller with a
 * {@link TokenBucket} of its own.
 *
 * @param perSecond sustained calls per second (> 0)
 * @param burst     calls admitted at once (> 0)
 */
public record RateSpec(double perSecond, long burst) {
    /** @throws IllegalArgumentException for a value out of range */
    public RateSpec {
        if (!(perSecond > 0) || perSecond > 1_000_000) {
            throw new IllegalArgumentException("perSecond: " + perSecond + " (expected: > 0 and <= 1000000)");
        }
        if (burst < 1 || burst > 1_000_000) {
            throw new IllegalArgumentException("burst: " + burst + " (expected: 1 to 1000000)");
        }
    }

    /** A full bucket for this limit. */
    public TokenBucket newBucket(LongSupplier nanos) {
        return new TokenBucket(perSecond, burst, nanos);
    }
}
