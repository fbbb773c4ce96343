package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

/**
 * The admin HTTP listener: {@code /healthz}, {@code /readyz}, {@code /metrics} and {@code /.well-known/jwks.json}
 * (the keys that verify task JWTs). Plaintext, so it binds to loopback
 * by default (the kubelet probes the pod's own address through the container port in Kubernetes, see deploy/).
 *
 * @param address the address to bind
 * @param port    the TCP port; {@code 0} picks a free one (tests)
 */
public record AdminConfig(String address, Integer port) {
    public static final int DEFAULT_PORT = 15020;

    public AdminConfig {
        address = requireNonNullElse(address, "127.0.0.1");
        port = requireNonNullElse(port, DEFAULT_PORT);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
    }

    public static AdminConfig defaults() {
        return new AdminConfig(null, null);
    }
}
