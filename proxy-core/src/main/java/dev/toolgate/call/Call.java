package dev.toolgate.call;

import static java.util.Objects.requireNonNull;

import dev.toolgate.identity.SpiffeId;

/**
 * One call as the authorizer judges it: who makes it, with which task token, on which route, doing what.
 * Built once per request by the data plane; holds no Netty types.
 *
 * @param agent     the caller's verified SPIFFE ID
 * @param taskToken the {@code toolgate-task} header value, or null when absent (never logged)
 * @param route     the matched route's name
 * @param protocol  the route's protocol ({@code http}, {@code grpc}, {@code mcp})
 * @param method    the HTTP method
 * @param path      the normalized path relative to the route ({@link RouteMatch#routePath()})
 */
public record Call(SpiffeId agent, CharSequence taskToken, String route, String protocol, String method,
                   String path) {
    public Call {
        requireNonNull(agent, "agent");
        requireNonNull(route, "route");
        requireNonNull(protocol, "protocol");
        requireNonNull(method, "method");
        requireNonNull(path, "path");
    }

    /** {@code METHOD /path}: the operation as audited. */
    public String operation() {
        return method + ' ' + path;
    }

    @Override
    public String toString() {
        // The token is a secret: never part of any string form.
        return "Call[agent=" + agent + ", route=" + route + ", operation=" + operation() + "]";
    }
}
