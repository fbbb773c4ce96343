package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The etcd v3 cluster a fleet of sidecars shares its task state in ({@code tasks.store: etcd}).
 *
 * @param endpoints      client URLs of the members, {@code http://host:port} without {@code tls},
 *                       {@code https://host:port} with it; any member serves (the client fails over between them)
 * @param tls            how to reach etcd over TLS (PEM files); null for plaintext (a loopback or test cluster only)
 * @param prefix         every key the sidecar reads or writes starts with it (default {@code /toolgate/}); etcd RBAC
 *                       can confine the sidecars' user to this prefix
 * @param dialTimeout    how long the start waits for a first connection before it fails
 * @param requestTimeout how long one read or write waits for etcd before it fails (a write then is not reported as
 *                       made)
 */
public record EtcdConfig(List<String> endpoints, Tls tls, String prefix, Duration dialTimeout,
                         Duration requestTimeout) {
    public static final String DEFAULT_PREFIX = "/toolgate/";

    public EtcdConfig {
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
        for (int i = 0; i < endpoints.size(); i++) {
            checkEndpoint(i, endpoints.get(i), tls != null);
        }
        prefix = requireNonNullElse(prefix, DEFAULT_PREFIX);
        if (!prefix.startsWith("/") || !prefix.endsWith("/") || prefix.length() < 2 || prefix.length() > 256
                || !prefix.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
            throw new IllegalArgumentException("prefix: \"" + prefix + "\" (expected: printable ASCII without"
                    + " spaces that starts and ends with /, such as /toolgate/, at most 256 characters)");
        }
        dialTimeout = positive("dialTimeout", requireNonNullElse(dialTimeout, Duration.ofSeconds(5)));
        requestTimeout = positive("requestTimeout", requireNonNullElse(requestTimeout, Duration.ofSeconds(5)));
    }

    /**
     * TLS to etcd, PEM files.
     *
     * @param ca          the CA certificates the members' server certificates are verified against (required)
     * @param certificate this sidecar's client certificate chain, for etcd's {@code --client-cert-auth} (with key)
     * @param key         its private key (PKCS#8), with certificate
     */
    public record Tls(Path ca, Path certificate, Path key) {
        public Tls {
            if (ca == null) {
                throw new IllegalArgumentException("ca: missing (expected: a PEM file of the CA"
                        + " certificates etcd's server certificates are verified against)");
            }
            if ((certificate == null) != (key == null)) {
                throw new IllegalArgumentException((certificate == null ? "key" : "certificate")
                        + " without " + (certificate == null ? "certificate" : "key")
                        + " (expected: both, for a client certificate, or neither)");
            }
        }

        Tls resolve(Path base) {
            return new Tls(base.resolve(ca), certificate == null ? null : base.resolve(certificate),
                    key == null ? null : base.resolve(key));
        }
    }

    public static EtcdConfig defaults() {
        return new EtcdConfig(null, null, null, null, null);
    }

    /** The same settings with other endpoints (tests). */
    public EtcdConfig withEndpoints(List<String> newEndpoints) {
        return new EtcdConfig(newEndpoints, tls, prefix, dialTimeout, requestTimeout);
    }

    /** The same settings under another key prefix (tests). */
    public EtcdConfig withPrefix(String newPrefix) {
        return new EtcdConfig(endpoints, tls, newPrefix, dialTimeout, requestTimeout);
    }

    /** The endpoints as URIs (each checked at construction). */
    public List<URI> endpointUris() {
        return endpoints.stream().map(URI::create).toList();
    }

    EtcdConfig resolve(Path base) {
        return tls == null ? this : new EtcdConfig(endpoints, tls.resolve(base), prefix, dialTimeout, requestTimeout);
    }

    private static void checkEndpoint(int i, String endpoint, boolean tls) {
        String expected = " (expected: " + (tls ? "https" : "http") + "://host:port"
                + (tls ? "" : "; https needs tls") + ")";
        if (endpoint == null) {
            throw new IllegalArgumentException("endpoints[" + i + "]: empty" + expected);
        }
        URI uri;
        try {
            uri = new URI(endpoint);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("endpoints[" + i + "]: \"" + endpoint + "\"" + expected, e);
        }
        boolean pathless = uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/");
        if (!(tls ? "https" : "http").equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() < 1
                || !pathless || uri.getRawQuery() != null || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("endpoints[" + i + "]: \"" + endpoint + "\"" + expected);
        }
    }

    private static Duration positive(String name, Duration d) {
        if (d.isNegative() || d.isZero() || d.compareTo(Duration.ofMinutes(1)) > 0) {
            throw new IllegalArgumentException(name + ": " + d + " (expected: > 0 and <= 1m)");
        }
        return d;
    }
}
