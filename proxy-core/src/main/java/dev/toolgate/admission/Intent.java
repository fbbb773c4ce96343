package dev.toolgate.admission;

import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.audit.AuditRecord;
import dev.toolgate.authz.Decision;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.common.Protocol;
import dev.toolgate.grant.Task;
import java.time.Instant;
import java.util.List;

/**
 * What a call was, as far as admission got before it decided: the route and protocol, the operation, the
 * authorizer's decision (task, grant, policy rule, approval), the MCP arguments' digest and captured values, and how
 * each message of a JSON-RPC batch was decided. Every front end writes its decision record from it with
 * {@link #record}, so one request gives the same record fields whichever front end saw it. Immutable.
 *
 * @param route     the matched route, or null (refused before a route matched, or no route matched)
 * @param protocol  the route's protocol, {@link Protocol#HTTP} before one matched
 * @param operation the operation as audited: {@code METHOD target} until the route matched, then the normalized
 *                  path, then what the JSON-RPC messages of an MCP POST do
 * @param decision  the authorizer's decision, or null when admission refused before asking it
 * @param arguments the MCP arguments' digest and captured values, or null (not an MCP POST, or none parsed)
 * @param elements  how each message of a JSON-RPC batch was decided, or null (not a batch)
 */
public record Intent(String route, Protocol protocol, String operation, Decision decision,
                     ArgumentCapture.Recorded arguments, List<AuditRecord.Element> elements) {
    /** The longest operation written to a record; longer ones are cut and marked with {@code ...}. */
    static final int MAX_OPERATION_CHARS = 512;

    public Intent {
        if (operation.length() > MAX_OPERATION_CHARS) {
            operation = operation.substring(0, MAX_OPERATION_CHARS) + "...";
        }
        elements = elements == null ? null : List.copyOf(elements);
    }

    /** What is known of a request before its target was read: {@code METHOD target}. */
    public static Intent of(String method, String target) {
        return new Intent(null, Protocol.HTTP, method + " " + target, null, null, null);
    }

    Intent matched(String newRoute, Protocol newProtocol, String newOperation) {
        return new Intent(newRoute, newProtocol, newOperation, decision, arguments, elements);
    }

    Intent decided(Decision d) {
        return new Intent(route, protocol, operation, d, arguments, elements);
    }

    Intent mcp(String newOperation, ArgumentCapture.Recorded args, List<AuditRecord.Element> batch) {
        return new Intent(route, protocol, newOperation, decision, args, batch);
    }

    /**
     * The decision record of this call: {@code allow}, {@code deny}, or {@code would_deny} when the decision is an
     * allow that a shadow-mode policy would have denied (then its code and reason are the shadow rule's).
     *
     * @param agent    the caller's SPIFFE ID, or null when there is none
     * @param identity how the caller proved it ({@code x509}, {@code jwt}), or null
     * @param code     the code the front end answered with (an allowed call that could not be forwarded is
     *                 recorded with its refusal code)
     */
    public AuditRecord record(Instant ts, String decisionId, String traceId, String spanId, String agent,
                              String identity, long decisionUs, DecisionCode code, String reason) {
        String taskId = null;
        String parentTaskId = null;
        String purpose = null;
        String grantId = null;
        String policy = null;
        String approvalId = null;
        Decision.Allow shadow = null;
        if (decision != null) {
            if (decision.task() != null) {
                Task t = decision.task().task();
                taskId = t.id();
                parentTaskId = t.parentId();
                purpose = t.purpose();
            }
            policy = decision.policy();
            approvalId = decision.approvalId();
            if (decision instanceof Decision.Allow a) {
                grantId = a.grant().id();
                if (code == DecisionCode.ALLOW && a.wouldDeny() != null) {
                    shadow = a;
                }
            }
        }
        boolean allow = code == DecisionCode.ALLOW;
        AuditRecord rec = AuditRecord.decision(ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose,
                route, protocol.configName(), operation, shadow != null ? "would_deny" : allow ? "allow" : "deny",
                (shadow != null ? shadow.wouldDeny().code() : code).name(),
                shadow != null ? shadow.wouldDeny().reason() : reason, grantId, policy,
                shadow != null ? "shadow" : "enforce", decisionUs, identity);
        if (arguments != null && arguments.digest() != null) {
            rec = rec.withArgs(arguments.digest(), arguments.args());
        }
        if (elements != null) {
            rec = rec.withElements(elements);
        }
        if (approvalId != null) {
            rec = rec.withApprovalId(approvalId);
        }
        return rec;
    }
}
