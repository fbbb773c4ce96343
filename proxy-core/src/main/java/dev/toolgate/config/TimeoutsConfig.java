package dev.toolgate.config;

import java.time.Duration;

/**
 * Upstream timeouts; a route may override the sidecar's defaults field by field.
 *
 * @param connect  TCP connect plus TLS handshake to the upstream (exceeded: 504)
 * @param response from the end of the forwarded request to the upstream's response head (exceeded: 504)
 * @param idle     how long an unused pooled upstream connection is kept open
 * @param bodyIdle after the response head, no byte of the upstream's body for this (while the agent can take
 *                 more): the exchange ends as {@code upstream_timeout}, the agent's connection (HTTP/1.1) or stream
 *                 (HTTP/2) is cut (default 30 s)
 */
public record TimeoutsConfig(Duration connect, Duration response, Duration idle, Duration bodyIdle) {

    public TimeoutsConfig {
        requirePositive("connect", connect);
        requirePositive("response", response);
        requirePositive("idle", idle);
        requirePositive("bodyIdle", bodyIdle);
    }

    /** Connect, response and pool idle timeouts; the body idle timeout unset. */
    public TimeoutsConfig(Duration connect, Duration response, Duration idle) {
        this(connect, response, idle, null);
    }

    private static void requirePositive(String name, Duration d) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
        }
    }

    public static TimeoutsConfig defaults() {
        return new TimeoutsConfig(Duration.ofSeconds(2), Duration.ofSeconds(30), Duration.ofSeconds(60),
                Duration.ofSeconds(30));
    }

    /** This route-level setting with unset fields taken from {@code defaults}. */
    public TimeoutsConfig orElse(TimeoutsConfig defaults) {
        return new TimeoutsConfig(
                connect != null ? connect : defaults.connect(),
                response != null ? response : defaults.response(),
                idle != null ? idle : defaults.idle(),
                bodyIdle != null ? bodyIdle : defaults.bodyIdle());
    }
}
