package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

/**
 * Size limits applied to every agent request before anything is forwarded.
 *
 * @param maxInitialLineBytes longest HTTP/1.1 request line (longer: 414)
 * @param maxHeaderBytes      largest header block, HTTP/1.1 bytes or HTTP/2 header list size (larger: 431)
 * @param maxBodyBytes        largest request body streamed to an upstream (larger: 413)
 * @param maxConnections      agent connections open at once; more are closed at accept (resource exhaustion)
 */
public record LimitsConfig(Integer maxInitialLineBytes, Integer maxHeaderBytes, Long maxBodyBytes,
                           Integer maxConnections) {

    public LimitsConfig {
        maxInitialLineBytes = requireNonNullElse(maxInitialLineBytes, 4096);
        maxHeaderBytes = requireNonNullElse(maxHeaderBytes, 8192);
        maxBodyBytes = requireNonNullElse(maxBodyBytes, 128L * 1024 * 1024);
        maxConnections = requireNonNullElse(maxConnections, 1024);
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections: " + maxConnections + " (expected: > 0)");
        }
        if (maxInitialLineBytes < 64) {
            throw new IllegalArgumentException("maxInitialLineBytes: " + maxInitialLineBytes + " (expected: >= 64)");
        }
        if (maxHeaderBytes < 256) {
            throw new IllegalArgumentException("maxHeaderBytes: " + maxHeaderBytes + " (expected: >= 256)");
        }
        if (maxBodyBytes < 0) {
            throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: >= 0)");
        }
    }

    /** Request-size limits with the default connection limit. */
    public LimitsConfig(Integer maxInitialLineBytes, Integer maxHeaderBytes, Long maxBodyBytes) {
        this(maxInitialLineBytes, maxHeaderBytes, maxBodyBytes, null);
    }

    public static LimitsConfig defaults() {
        return new LimitsConfig(null, null, null, null);
    }
}
