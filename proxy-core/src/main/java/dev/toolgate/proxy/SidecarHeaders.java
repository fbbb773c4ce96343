package dev.toolgate.proxy;

import dev.toolgate.grant.Task;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * The headers by which the sidecar tells an upstream who calls, on a route that opts in
 * ({@code identityHeaders: true}): the verified SPIFFE ID of the agent, the task the call belongs to and the id of
 * the decision that let it through (the same {@code decision_id} as the audit records, so the upstream's logs can be
 * joined with them). Never the task token, which stays in the sidecar.
 *
 * <p>The names share the sidecar's reserved prefix ({@link HopByHop#SIDECAR_PREFIX}): whatever the agent sent under
 * it is dropped on every route before these are set, so a value the upstream reads here is always the sidecar's.
 * Stateless.
 */
final class SidecarHeaders {
    /** The agent's SPIFFE ID, from its verified client certificate or JWT-SVID (the task's subject). */
    static final AsciiString SPIFFE_ID = AsciiString.cached("x-toolgate-spiffe-id");
    /** The task the call was made in ({@code task_id} in the audit trail). */
    static final AsciiString TASK_ID = AsciiString.cached("x-toolgate-task-id");
    /** The decision that allowed the call ({@code decision_id} in the audit trail). */
    static final AsciiString DECISION_ID = AsciiString.cached("x-toolgate-decision-id");

    private SidecarHeaders() {}

    /** Sets the three headers on a request going upstream, replacing any value already there. */
    static void set(HttpHeaders out, Task task, String decisionId) {
        out.set(SPIFFE_ID, task.subject().uri());
        out.set(TASK_ID, task.id());
        out.set(DECISION_ID, decisionId);
    }
}
