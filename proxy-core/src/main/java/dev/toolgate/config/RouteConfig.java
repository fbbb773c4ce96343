package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import dev.toolgate.common.Protocol;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One route: how an agent's request is matched and where it goes.
 *
 * <p>Exactly one of {@code prefix} (path-prefix route, matched on whole segments and stripped before forwarding)
 * or {@code grpc} (a fully qualified gRPC service: matches {@code /package.Service/...}, path forwarded as is).
 *
 * @param name     unique route name, used in audit records and errors
 * @param prefix   path prefix such as {@code /api/weather}
 * @param grpc     gRPC service such as {@code grpc.testing.TestService}
 * @param protocol how calls on it are understood ({@code protocol: http}, {@code grpc} or {@code mcp}); null: grpc on
 *                 a grpc route, else http
 * @param upstream where to forward
 * @param labels   data classes / trust zones (e.g. {@code pii}, {@code external}) used by flow rules
 * @param timeouts route overrides of the sidecar's upstream timeouts
 * @param credential the credential the sidecar injects toward the upstream, or {@code null} for none
 * @param mcp      MCP settings ({@code filterToolsList}); only on an {@code mcp} route
 * @param audit    which call arguments the audit trail captures (MCP routes only), or {@code null} for the
 *                 default: only their digest
 * @param identityHeaders whether the sidecar tells the upstream who calls: {@code x-toolgate-spiffe-id} (the
 *                 verified SPIFFE ID), {@code x-toolgate-task-id} and {@code x-toolgate-decision-id} set on every
 *                 forwarded request (never the task token). An agent's own copies are dropped on every route.
 *                 Default false
 */
public record RouteConfig(
        String name, String prefix, String grpc, Protocol protocol, UpstreamConfig upstream, List<String> labels,
        TimeoutsConfig timeouts, CredentialConfig credential, McpRouteConfig mcp, RouteAuditConfig audit,
        Boolean identityHeaders) {

    /** A route that does not set the sidecar's identity headers. */
    public RouteConfig(String name, String prefix, String grpc, Protocol protocol, UpstreamConfig upstream,
                       List<String> labels, TimeoutsConfig timeouts, CredentialConfig credential,
                       McpRouteConfig mcp, RouteAuditConfig audit) {
        this(name, prefix, grpc, protocol, upstream, labels, timeouts, credential, mcp, audit, false);
    }

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final Pattern PREFIX = Pattern.compile("(/[A-Za-z0-9._~!$&'()*+,=:@-]+)+");
    private static final Pattern SERVICE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+");

    public RouteConfig {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("name: " + quote(name) + " (expected: [a-z0-9][a-z0-9._-]*, <= 63 chars)");
        }
        if ((prefix == null) == (grpc == null)) {
            throw new IllegalArgumentException("route " + name + ": exactly one of prefix or grpc is required");
        }
        if (prefix != null && (!PREFIX.matcher(prefix).matches() || prefix.contains("/./") || prefix.contains("/../")
                || prefix.endsWith("/.") || prefix.endsWith("/.."))) {
            throw new IllegalArgumentException("prefix: " + quote(prefix)
                    + " (expected: a normalized path such as /api/weather, no trailing slash)");
        }
        if (prefix != null && (prefix.equals("/_toolgate") || prefix.startsWith("/_toolgate/"))) {
            throw new IllegalArgumentException("prefix: " + quote(prefix)
                    + " (expected: a path outside /_toolgate, which the sidecar serves itself)");
        }
        if (grpc != null && !SERVICE.matcher(grpc).matches()) {
            throw new IllegalArgumentException("grpc: " + quote(grpc) + " (expected: package.Service)");
        }
        protocol = requireNonNullElse(protocol, grpc != null ? Protocol.GRPC : Protocol.HTTP);
        if (grpc != null && protocol != Protocol.GRPC) {
            throw new IllegalArgumentException("protocol: \"" + protocol + "\" (expected: grpc for a grpc route)");
        }
        if (upstream == null) {
            throw new IllegalArgumentException("upstream: missing (expected: {url: http://host:port})");
        }
        if (protocol == Protocol.GRPC) {
            upstream = upstream.forGrpc();
        }
        labels = labels == null ? List.of() : List.copyOf(labels);
        timeouts = requireNonNullElse(timeouts, new TimeoutsConfig(null, null, null));
        if (mcp != null && mcp.set() && protocol != Protocol.MCP) {
            throw new IllegalArgumentException("route " + name + ": mcp settings on a " + protocol
                    + " route (expected: protocol: mcp)");
        }
        mcp = requireNonNullElse(mcp, McpRouteConfig.DEFAULTS);
        identityHeaders = requireNonNullElse(identityHeaders, false);
        if (audit != null && protocol != Protocol.MCP) {
            throw new IllegalArgumentException("route " + name + ": audit.captureArgs: only MCP calls have arguments"
                    + " (expected: protocol mcp, got " + protocol + ")");
        }
    }

    /** A route with default MCP settings. */
    public RouteConfig(String name, String prefix, String grpc, Protocol protocol, UpstreamConfig upstream,
                       List<String> labels, TimeoutsConfig timeouts, CredentialConfig credential,
                       McpRouteConfig mcp) {
        this(name, prefix, grpc, protocol, upstream, labels, timeouts, credential, mcp, null);
    }

    /** A route without argument capture. */
    public RouteConfig(String name, String prefix, String grpc, Protocol protocol, UpstreamConfig upstream,
                       List<String> labels, TimeoutsConfig timeouts, CredentialConfig credential,
                       RouteAuditConfig audit) {
        this(name, prefix, grpc, protocol, upstream, labels, timeouts, credential, null, audit);
    }

    /** A route with a credential, default MCP settings and no argument capture. */
    public RouteConfig(String name, String prefix, String grpc, Protocol protocol, UpstreamConfig upstream,
                       List<String> labels, TimeoutsConfig timeouts, CredentialConfig credential) {
        this(name, prefix, grpc, protocol, upstream, labels, timeouts, credential, null, null);
    }

    /** A route without a credential. */
    public RouteConfig(String name, String prefix, String grpc, Protocol protocol, UpstreamConfig upstream,
                       List<String> labels, TimeoutsConfig timeouts) {
        this(name, prefix, grpc, protocol, upstream, labels, timeouts, null, null, null);
    }

    /** The same route with relative paths resolved against {@code base} (the route file's directory). */
    RouteConfig resolve(Path base) {
        return credential == null ? this
                : new RouteConfig(name, prefix, grpc, protocol, upstream, labels, timeouts, credential.resolve(base),
                        mcp, audit, identityHeaders);
    }

    private static String quote(String s) {
        return s == null ? "null" : '"' + s + '"';
    }
}
