package dev.toolgate.config;

import java.time.Duration;

/**
 * Upstream timeouts; a route may override the sidecar's defaults field by field.
 *
 * @param connect  TCP connect plus TLS handshake to the upstream (exceeded: 504)
 * @param response from the end of the forwarded request to the upstream's response head (exceeded: 504)
 * @param idle     how long an unused pooled upstream connection is kept open
 */
public record TimeoutsConfig(Duration connect, Duration response, Duration idle) {

    public TimeoutsConfig {
        requirePositive("connect", connect);
        requirePositive("response", response);
        requirePositive("idle", idle);
    }

    private static void requirePositive(String name, Duration d) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
        }
    }

    public static TimeoutsConfig defaults() {
        return new TimeoutsConfig(Duration.ofSeconds(2), Duration.ofSeconds(30), Duration.ofSeconds(60));
    }

    /** This route-level setting with unset fields taken from {@code defaults}. */
    public TimeoutsConfig orElse(TimeoutsConfig defaults) {
        return new TimeoutsConfig(
                connect != null ? connect : defaults.connect(),
                response != null ? response : defaults.response(),
                idle != null ? idle : defaults.idle());
    }
}
