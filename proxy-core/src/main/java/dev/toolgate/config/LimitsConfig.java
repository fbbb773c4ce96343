package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.time.Duration;

/**
 * Limits on the agent side: request sizes, connections, and how long an agent may keep a connection or an exchange
 * waiting on itself. None of the timers runs while an exchange waits on its upstream (that is the route's
 * {@link TimeoutsConfig#response()}).
 *
 * @param maxInitialLineBytes       longest HTTP/1.1 request line (longer: 414)
 * @param maxHeaderBytes            largest header block, HTTP/1.1 bytes or HTTP/2 header list size (larger: 431)
 * @param maxBodyBytes              largest request body streamed to an upstream (larger: 413)
 * @param maxConnections            agent connections open at once; more are closed at accept (resource exhaustion)
 * @param maxConnectionsPerIdentity agent connections one SPIFFE ID (its client certificate's) may hold at once;
 *                                  more are closed right after the handshake, so one agent cannot take every slot
 *                                  (default: a quarter of {@code maxConnections}, but at least 4, or
 *                                  {@code maxConnections} if that is smaller)
 * @param handshakeTimeout          the agent's TLS handshake must end within this after accept (default 10 s)
 * @param requestHeadTimeout        a request head must be complete within this after the handshake, or after the
 *                                  first byte of a later request on a kept-alive connection (default 30 s)
 * @param idleTimeout               an HTTP/1.1 connection between exchanges, or an HTTP/2 connection without open
 *                                  streams, is closed after this (default 60 s)
 * @param bodyIdleTimeout           no byte of the agent's request body for this while the sidecar reads it: the
 *                                  exchange ends, {@code 408 request_timeout} if nothing was answered yet
 *                                  (default 30 s)
 * @param maxCheckedBodyBytes       largest request body held back and checked whole (framing, trailer fields)
 *                                  before the request head goes upstream, so a malformed one is refused and
 *                                  nothing reaches the upstream: a chunked HTTP/1.1 body, or an HTTP/2 body without
 *                                  {@code content-length}, as far as it arrived with the head; an HTTP/2 body whose
 *                                  {@code content-length} is at most this, whole. Larger or later bodies are
 *                                  streamed. {@code 0} streams every body (default 65536, at most
 *                                  {@code maxBodyBytes} applies)
 */
public record LimitsConfig(Integer maxInitialLineBytes, Integer maxHeaderBytes, Long maxBodyBytes,
                           Integer maxConnections, Integer maxConnectionsPerIdentity, Duration handshakeTimeout,
                           Duration requestHeadTimeout, Duration idleTimeout, Duration bodyIdleTimeout,
                           Integer maxCheckedBodyBytes) {

    public LimitsConfig {
        maxInitialLineBytes = requireNonNullElse(maxInitialLineBytes, 4096);
        maxHeaderBytes = requireNonNullElse(maxHeaderBytes, 8192);
        maxBodyBytes = requireNonNullElse(maxBodyBytes, 128L * 1024 * 1024);
        maxConnections = requireNonNullElse(maxConnections, 1024);
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections: " + maxConnections + " (expected: > 0)");
        }
        maxConnectionsPerIdentity = requireNonNullElse(maxConnectionsPerIdentity,
                Math.max(Math.min(maxConnections, 4), maxConnections / 4));
        if (maxConnectionsPerIdentity < 1 || maxConnectionsPerIdentity > maxConnections) {
            throw new IllegalArgumentException("maxConnectionsPerIdentity: " + maxConnectionsPerIdentity
                    + " (expected: > 0 and <= maxConnections " + maxConnections + ")");
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
        handshakeTimeout = positive("handshakeTimeout", handshakeTimeout, Duration.ofSeconds(10));
        requestHeadTimeout = positive("requestHeadTimeout", requestHeadTimeout, Duration.ofSeconds(30));
        idleTimeout = positive("idleTimeout", idleTimeout, Duration.ofSeconds(60));
        bodyIdleTimeout = positive("bodyIdleTimeout", bodyIdleTimeout, Duration.ofSeconds(30));
        maxCheckedBodyBytes = requireNonNullElse(maxCheckedBodyBytes, 64 * 1024);
        if (maxCheckedBodyBytes < 0) {
            throw new IllegalArgumentException("maxCheckedBodyBytes: " + maxCheckedBodyBytes + " (expected: >= 0)");
        }
    }

    /** Limits with the default checked-body size. */
    public LimitsConfig(Integer maxInitialLineBytes, Integer maxHeaderBytes, Long maxBodyBytes,
                        Integer maxConnections, Integer maxConnectionsPerIdentity, Duration handshakeTimeout,
                        Duration requestHeadTimeout, Duration idleTimeout, Duration bodyIdleTimeout) {
        this(maxInitialLineBytes, maxHeaderBytes, maxBodyBytes, maxConnections, maxConnectionsPerIdentity,
                handshakeTimeout, requestHeadTimeout, idleTimeout, bodyIdleTimeout, null);
    }

    /**
     * The largest body held back and checked before the head goes upstream: {@link #maxCheckedBodyBytes}, but
     * never more than {@link #maxBodyBytes}.
     */
    public int checkedBodyBytes() {
        return (int) Math.min(maxCheckedBodyBytes, maxBodyBytes);
    }

    /** Request-size limits with the default connection limits and timeouts. */
    public LimitsConfig(Integer maxInitialLineBytes, Integer maxHeaderBytes, Long maxBodyBytes) {
        this(maxInitialLineBytes, maxHeaderBytes, maxBodyBytes, null);
    }

    /** Request-size and connection limits with the default per-identity limit and timeouts. */
    public LimitsConfig(Integer maxInitialLineBytes, Integer maxHeaderBytes, Long maxBodyBytes,
                        Integer maxConnections) {
        this(maxInitialLineBytes, maxHeaderBytes, maxBodyBytes, maxConnections, null, null, null, null, null);
    }

    public static LimitsConfig defaults() {
        return new LimitsConfig(null, null, null, null);
    }

    private static Duration positive(String name, Duration d, Duration orElse) {
        if (d == null) {
            return orElse;
        }
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
        }
        return d;
    }
}
