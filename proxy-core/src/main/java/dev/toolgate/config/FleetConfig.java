package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.time.Duration;

/**
 * How a sidecar that shares task state with a fleet ({@code tasks.store: etcd}) judges its own view.
 *
 * @param maxStaleness how old the view of the shared store may grow (since the store last proved it current)
 *                     before every call is denied {@code ERROR_FAIL_CLOSED}, naming the store, and the sidecar
 *                     reports not ready; calls go on being decided within it while the store is unreachable
 */
public record FleetConfig(Duration maxStaleness) {
    public FleetConfig {
        maxStaleness = requireNonNullElse(maxStaleness, Duration.ofSeconds(5));
        if (maxStaleness.compareTo(Duration.ofMillis(100)) < 0 || maxStaleness.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("maxStaleness: " + maxStaleness + " (expected: 100ms to 1h)");
        }
    }

    public static FleetConfig defaults() {
        return new FleetConfig(null);
    }
}
