package dev.toolgate.cli;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One call to decide offline, as a {@code policy test} case or a {@code policy explain} command line gives it: who
 * calls, the task it presents (its grants and what it did before), the call itself, and (for a test) the decision
 * code expected. Immutable.
 *
 * @param where     where the case was written ({@code file:line}), for messages
 * @param name      what the case checks, in words
 * @param caller    the caller's SPIFFE ID (the task's subject too)
 * @param proof     how the caller proved its ID
 * @param purpose   the task's purpose
 * @param grants    the task's grants, or null for a call without a task token
 * @param labels    the labels of the routes the task touched before this call
 * @param calls     the task's forwarded calls before this one
 * @param at        the time of the call (conditions read it as {@code now})
 * @param call      the call
 * @param expect    the expected decision code ({@code ALLOW}, {@code DENY_...}, or {@link PolicyBench#START_REFUSED});
 *                  null for {@code explain}
 * @param rule      the rule expected to decide ({@code document/rule}), or null when any
 */
record PolicyCase(String where, String name, SpiffeId caller, IdentityProof proof, String purpose,
                  List<GrantRequest> grants, Set<String> labels, long calls, Instant at, CallSpec call,
                  String expect, String rule) {
    PolicyCase {
        requireNonNull(where, "where");
        requireNonNull(name, "name");
        requireNonNull(caller, "caller");
        requireNonNull(proof, "proof");
        requireNonNull(purpose, "purpose");
        grants = grants == null ? null : List.copyOf(grants);
        labels = Set.copyOf(labels);
        requireNonNull(at, "at");
        requireNonNull(call, "call");
    }

    /**
     * The call: either a route and an operation in the syntax grants and policy use ({@code GET /forecast/oslo}
     * relative to the route, {@code grpc:pkg.Service/Method}, {@code mcp:tools/call:<tool>}), or a raw method and
     * request target as the agent would send it (to test normalization and routing).
     *
     * @param route     the route name, or null with {@code target}
     * @param operation the operation on the route, or null with {@code target}
     * @param method    the HTTP method of a raw {@code target}, else null
     * @param target    the raw request target, else null
     * @param arguments the MCP arguments ({@code tools/call}, {@code prompts/get}), or null
     * @param headers   request headers by name (each with one or more values)
     */
    record CallSpec(String route, String operation, String method, String target, JsonNode arguments,
                    Map<String, List<String>> headers) {
        CallSpec {
            if ((target == null) == (operation == null)) {
                throw new IllegalArgumentException("a call names either route and operation, or method and target");
            }
            if (operation != null && route == null) {
                throw new IllegalArgumentException("operation: needs route (the route the operation is on)");
            }
            headers = Map.copyOf(headers);
        }
    }
}
