package dev.toolgate.bench;

import java.util.Locale;
import java.util.Properties;
import org.HdrHistogram.Histogram;

/**
 * The outcome of one load run. Latencies are from the intended send time (open loop) or the actual send (closed
 * loop) to the end of the response, in microseconds. Immutable once built.
 *
 * @param rate           the requested rate (0: closed loop)
 * @param connections    connections used
 * @param windowSeconds  length of the measured window
 * @param completed      successful responses to requests started in the window
 * @param errors         failed requests (non-200, gRPC status not OK, resets, closed connections), whole run
 * @param notSent        open loop: requests of the window's schedule never sent (the target could not keep up)
 * @param completedTotal successful responses over the whole run, warmup included
 * @param cpuSeconds     CPU seconds the watched processes used during the window (-1: not measured)
 * @param latency        latencies of {@code completed}, nanoseconds
 * @param tls            negotiated TLS protocol and cipher of the first connection (empty: plaintext)
 * @param firstError     the first failure seen, for the log (empty: none)
 */
public record LoadReport(
        int rate, int connections, double windowSeconds, long completed, long errors, long notSent,
        long completedTotal, double cpuSeconds, Histogram latency, String tls, String firstError) {

    public double achievedRps() {
        return completed / windowSeconds;
    }

    /** Latency at {@code percentile} (0-100) in microseconds; 0 when nothing completed. */
    public double micros(double percentile) {
        return latency.getTotalCount() == 0 ? 0 : latency.getValueAtPercentile(percentile) / 1000.0;
    }

    /** CPU seconds per 1,000 requests completed in the window (-1: not measured). */
    public double cpuPer1k() {
        return cpuSeconds < 0 || completed == 0 ? -1 : cpuSeconds / completed * 1000;
    }

    /** Flat key=value form, read back by the report writer and easy to grep. */
    public Properties toProperties() {
        Properties p = new Properties();
        p.setProperty("rate", Integer.toString(rate));
        p.setProperty("connections", Integer.toString(connections));
        p.setProperty("windowSeconds", fmt(windowSeconds));
        p.setProperty("completed", Long.toString(completed));
        p.setProperty("errors", Long.toString(errors));
        p.setProperty("notSent", Long.toString(notSent));
        p.setProperty("completedTotal", Long.toString(completedTotal));
        p.setProperty("achievedRps", fmt(achievedRps()));
        p.setProperty("p50us", fmt(micros(50)));
        p.setProperty("p90us", fmt(micros(90)));
        p.setProperty("p99us", fmt(micros(99)));
        p.setProperty("p999us", fmt(micros(99.9)));
        p.setProperty("maxUs", fmt(latency.getTotalCount() == 0 ? 0 : latency.getMaxValue() / 1000.0));
        p.setProperty("meanUs", fmt(latency.getTotalCount() == 0 ? 0 : latency.getMean() / 1000.0));
        p.setProperty("cpuSeconds", fmt(cpuSeconds));
        p.setProperty("cpuPer1k", fmt(cpuPer1k()));
        p.setProperty("tls", tls);
        p.setProperty("firstError", firstError);
        return p;
    }

    /** One human-readable line. */
    public String summary() {
        return String.format(Locale.ROOT,
                "rate=%s conns=%d window=%.1fs achieved=%.0f/s completed=%d errors=%d notSent=%d "
                        + "p50=%.0fus p90=%.0fus p99=%.0fus p99.9=%.0fus max=%.0fus cpu/1k=%s%s%s",
                rate == 0 ? "closed-loop" : Integer.toString(rate), connections, windowSeconds, achievedRps(),
                completed, errors, notSent, micros(50), micros(90), micros(99), micros(99.9),
                latency.getTotalCount() == 0 ? 0.0 : latency.getMaxValue() / 1000.0,
                cpuSeconds < 0 ? "n/a" : String.format(Locale.ROOT, "%.4fs", cpuPer1k()),
                tls.isEmpty() ? "" : " tls=" + tls, firstError.isEmpty() ? "" : " firstError=" + firstError);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
