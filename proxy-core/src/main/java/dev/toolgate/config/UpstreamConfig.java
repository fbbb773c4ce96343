package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.net.URI;

/**
 * Where a route forwards to.
 *
 * @param url      {@code http://host:port[/base]} or {@code https://host:port[/base]}; the base path is prepended
 *                 to the path left after the route prefix is stripped
 * @param http     {@code "1.1"} or {@code "2"} (HTTP/2: prior knowledge on plaintext, ALPN on TLS); gRPC routes
 *                 always use {@code "2"}
 * @param spiffeId for an {@code https} upstream inside the mesh: the SPIFFE ID it must present; the sidecar then
 *                 uses mTLS with its own SVID. Without it, an {@code https} upstream is verified against the JDK's
 *                 public CAs and its host name.
 */
public record UpstreamConfig(URI url, String http, String spiffeId) {

    public UpstreamConfig {
        if (url == null) {
            throw new IllegalArgumentException("url: missing (expected: http://host:port or https://host:port)");
        }
        String scheme = url.getScheme();
        if (!"http".equals(scheme) && !"https".equals(scheme)) {
            throw new IllegalArgumentException("url: \"" + url + "\" (expected: http:// or https://)");
        }
        if (url.getHost() == null || url.getRawQuery() != null || url.getRawFragment() != null
                || url.getRawUserInfo() != null) {
            throw new IllegalArgumentException("url: \"" + url + "\" (expected: scheme://host[:port][/base path])");
        }
        http = requireNonNullElse(http, "1.1");
        if (!http.equals("1.1") && !http.equals("2")) {
            throw new IllegalArgumentException("http: \"" + http + "\" (expected: \"1.1\" or \"2\")");
        }
        if (spiffeId != null && !"https".equals(scheme)) {
            throw new IllegalArgumentException("spiffeId: set for a plaintext upstream (expected: an https:// url)");
        }
    }

    public boolean tls() {
        return "https".equals(url.getScheme());
    }

    public boolean http2() {
        return http.equals("2");
    }

    public String host() {
        return url.getHost();
    }

    public int port() {
        return url.getPort() != -1 ? url.getPort() : tls() ? 443 : 80;
    }

    /** Value of the {@code Host} header sent upstream. */
    public String authority() {
        return url.getRawAuthority();
    }

    /** Base path without a trailing slash; empty when the url has none. */
    public String basePath() {
        String p = url.getRawPath();
        if (p == null || p.isEmpty() || p.equals("/")) {
            return "";
        }
        return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    UpstreamConfig forGrpc() {
        return http2() ? this : new UpstreamConfig(url, "2", spiffeId);
    }
}
