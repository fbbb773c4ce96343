package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

/**
 * The agent-facing data plane listener.
 *
 * @param address the address to bind; loopback by default: the agent shares the pod's network namespace, so
 *                nothing else on the network needs to reach the data plane (set another address deliberately)
 * @param port    the TCP port; {@code 0} picks a free one (tests)
 */
public record ListenerConfig(String address, Integer port) {
    public static final int DEFAULT_PORT = 15001;

    public ListenerConfig {
        address = requireNonNullElse(address, "127.0.0.1");
        port = requireNonNullElse(port, DEFAULT_PORT);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
    }

    public static ListenerConfig defaults() {
        return new ListenerConfig(null, null);
    }
}
