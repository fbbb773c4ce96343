package dev.toolgate.call;

import static java.util.Objects.requireNonNull;

import dev.toolgate.common.Protocol;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.mcp.ArgsDigest;
import dev.toolgate.mcp.McpHousekeeping;
import dev.toolgate.mcp.McpMessage;

/**
 * One call as the authorizer judges it: who makes it, with which task token, on which route, doing what.
 * Built once per request (once per message of an MCP batch) by the data plane; holds no Netty types.
 *
 * @param agent     the caller's verified SPIFFE ID
 * @param taskToken the {@code toolgate-task} header value, or null when absent (never logged)
 * @param route     the matched route's name
 * @param protocol  the route's protocol
 * @param method    the HTTP method
 * @param path      the normalized path relative to the route ({@link RouteMatch#routePath()})
 * @param mcp       on an MCP route, the JSON-RPC message of a POST (null for the GET event stream and the
 *                  DELETE that closes a session)
 * @param proof     how the caller proved {@code agent}: a client certificate or a JWT-SVID
 * @param headers   the request's host and headers, read only when a policy condition asks
 */
public record Call(SpiffeId agent, CharSequence taskToken, String route, Protocol protocol, String method,
                   String path, McpMessage mcp, IdentityProof proof, RequestHeaders headers) {
    /** Operations of the MCP transport itself, outside JSON-RPC: the server-sent event stream. */
    public static final String MCP_STREAM = McpHousekeeping.STREAM;
    /** ... and the DELETE that ends a session. */
    public static final String MCP_SESSION_CLOSE = McpHousekeeping.SESSION_CLOSE;

    public Call {
        requireNonNull(agent, "agent");
        requireNonNull(route, "route");
        requireNonNull(protocol, "protocol");
        requireNonNull(method, "method");
        requireNonNull(path, "path");
        requireNonNull(proof, "proof");
        requireNonNull(headers, "headers");
        if (mcp != null && protocol != Protocol.MCP) {
            throw new IllegalArgumentException("an MCP message on a " + protocol + " route");
        }
    }

    /** A call that is not an MCP message, by a caller with a client certificate, without headers. */
    public Call(SpiffeId agent, CharSequence taskToken, String route, Protocol protocol, String method, String path) {
        this(agent, taskToken, route, protocol, method, path, null, IdentityProof.X509, RequestHeaders.NONE);
    }

    /** A call whose caller proved its identity by {@code proof}, without headers. */
    public Call(SpiffeId agent, CharSequence taskToken, String route, Protocol protocol, String method, String path,
                McpMessage mcp, IdentityProof proof) {
        this(agent, taskToken, route, protocol, method, path, mcp, proof, RequestHeaders.NONE);
    }

    /** A call by a caller with a client certificate, without headers. */
    public Call(SpiffeId agent, CharSequence taskToken, String route, Protocol protocol, String method, String path,
                McpMessage mcp) {
        this(agent, taskToken, route, protocol, method, path, mcp, IdentityProof.X509, RequestHeaders.NONE);
    }

    /**
     * The operation as grants and policies see it and the audit records it: {@code mcp:tools/call:<tool>} and the
     * like for an MCP message, {@link #MCP_STREAM} / {@link #MCP_SESSION_CLOSE} for the transport's GET and DELETE,
     * {@code grpc:package.Service/Method} on a gRPC route, {@code METHOD /path} otherwise.
     */
    public String operation() {
        if (mcp != null) {
            return mcp.operation();
        }
        return switch (protocol) {
            case MCP -> {
                String transport = McpHousekeeping.transportOperation(method);
                yield transport != null ? transport : method + ' ' + path;
            }
            case GRPC -> "grpc:" + path.substring(1);
            case HTTP -> method + ' ' + path;
        };
    }

    /**
     * The audit's {@code args_digest} of this call ({@link ArgsDigest}): of an MCP message's {@code arguments}; null
     * for a call whose arguments the sidecar does not read (HTTP and gRPC bodies are streamed, not parsed).
     */
    public String argsDigest() {
        return ArgsDigest.of(mcp);
    }

    @Override
    public String toString() {
        // The token is a secret: never part of any string form.
        return "Call[agent=" + agent + " (" + proof.json() + "), route=" + route + ", operation=" + operation() + "]";
    }
}
