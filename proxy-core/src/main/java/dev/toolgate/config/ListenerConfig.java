package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

/**
 * The agent-facing data plane listener. Which agents may use it is {@link AccessConfig#agents()}.
 *
 * @param address the address to bind; loopback by default: the agent shares the pod's network namespace, so
 *                nothing else on the network needs to reach the data plane (set another address deliberately)
 * @param port    the TCP port; {@code 0} picks a free one (tests)
 * @param jwtSvid whether JWT-SVIDs are accepted as an alternative to client certificates (off by default)
 */
public record ListenerConfig(String address, Integer port, JwtSvidConfig jwtSvid) {
    public static final int DEFAULT_PORT = 15001;

    public ListenerConfig {
        address = requireNonNullElse(address, "127.0.0.1");
        port = requireNonNullElse(port, DEFAULT_PORT);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        jwtSvid = requireNonNullElse(jwtSvid, JwtSvidConfig.disabled());
    }

    public ListenerConfig(String address, Integer port) {
        this(address, port, null);
    }

    /** The same listener with another JWT-SVID setting. */
    public ListenerConfig withJwtSvid(JwtSvidConfig newJwtSvid) {
        return new ListenerConfig(address, port, newJwtSvid);
    }

    public static ListenerConfig defaults() {
        return new ListenerConfig(null, null, null);
    }
}
