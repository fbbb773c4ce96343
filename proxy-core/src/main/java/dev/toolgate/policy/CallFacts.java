package dev.toolgate.policy;

import dev.toolgate.identity.SpiffeId;
import dev.toolgate.operation.OperationPattern;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * What policy needs to know about one call, implemented by the caller over its own types (the {@code Call}, the
 * live task and its history). Policy reads only what the rules in force need, and the CEL variables are built from
 * these methods only when a condition refers to them, so an implementation should return what it already holds
 * rather than compute in advance.
 *
 * <p>CEL variables (an absent value is an absent key: reading it is an evaluation error, which denies; test with
 * {@code has(mcp.tool)}):
 * <ul>
 * <li>{@code request}: {@code method}, {@code path} (normalized, relative to the route), {@code host},
 *     {@code headers} (map of lower-case names to values; several values of a header joined with {@code ", "};
 *     {@code authorization}, {@code proxy-authorization}, {@code cookie} and {@code toolgate-task} are never
 *     visible)</li>
 * <li>{@code mcp}: {@code method}, {@code tool} (tools/call), {@code uri} (resources/read), {@code arguments}
 *     (a map of JSON values: those of tools/call and prompts/get, empty for other methods); the whole map is empty on a
 *     call that is not MCP</li>
 * <li>{@code grpc}: {@code service}, {@code method}; empty on a call that is not gRPC</li>
 * <li>{@code task}: {@code id}, {@code purpose}, {@code labels} (labels of the routes the task's forwarded calls
 *     touched before this one), {@code calls} (forwarded calls before this one)</li>
 * <li>{@code agent}: {@code id} (the SPIFFE ID), {@code trust_domain}, {@code path}, {@code proof} (how the ID was
 *     proven: {@code x509} for a client certificate, {@code jwt} for a JWT-SVID)</li>
 * <li>{@code now}: a timestamp</li>
 * </ul>
 *
 * <p>An instance describes one call and is used by one thread.
 */
public interface CallFacts {
    /** The caller's verified identity. */
    SpiffeId agent();

    /** How {@link #agent()} was proven: {@code x509} (client certificate) or {@code jwt} (JWT-SVID). */
    default String agentProof() {
        return "x509";
    }

    /** The route name. */
    String route();

    /** The route's labels (data classes, trust zones), for flow rules. */
    Set<String> routeLabels();

    /**
     * The operation in the form {@link OperationPattern} matches: {@code GET /path}, {@code grpc:pkg.Service/Method},
     * {@code mcp:tools/call:<tool>}, {@code mcp:resources/read:<uri>}, {@code mcp:prompts/get:<name>},
     * {@code mcp:<method>}.
     */
    String operation();

    /** The HTTP method. */
    String method();

    /** The normalized path relative to the route. */
    String path();

    /** The host the agent addressed, or null. */
    default String host() {
        return null;
    }

    /** Request headers by lower-case name. */
    default Map<String, String> headers() {
        return Map.of();
    }

    /** The JSON-RPC method of an MCP call, or null when the call is not MCP. */
    default String mcpMethod() {
        return null;
    }

    /** The tool of an MCP {@code tools/call}, or null. */
    default String mcpTool() {
        return null;
    }

    /** The URI of an MCP {@code resources/read}, or null. */
    default String mcpUri() {
        return null;
    }

    /**
     * The {@code arguments} of an MCP {@code tools/call} or {@code prompts/get}, or null: a Jackson
     * {@code JsonNode}, or plain Java values (maps with string keys, lists, strings, numbers, booleans, null).
     */
    default Object mcpArguments() {
        return null;
    }

    /** The service of a gRPC call ({@code package.Service}), or null when the call is not gRPC. */
    default String grpcService() {
        return null;
    }

    /** The method of a gRPC call, or null. */
    default String grpcMethod() {
        return null;
    }

    /** The task id. */
    String taskId();

    /** The task's stated purpose. */
    String taskPurpose();

    /** Labels of the routes the task's forwarded calls touched before this call. */
    Set<String> taskLabels();

    /** The task's forwarded calls before this one. */
    long taskCalls();

    /** The time of the call (from the caller's injected clock). */
    Instant now();
}
