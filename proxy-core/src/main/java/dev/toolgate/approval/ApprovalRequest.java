package dev.toolgate.approval;

import static java.util.Objects.requireNonNull;

import dev.toolgate.identity.SpiffeId;
import java.time.Instant;
import java.util.Map;

/**
 * What a call that needs approval asks for: its intent, as an approver sees it. Immutable.
 *
 * @param agent          the calling agent's SPIFFE ID (the task's subject)
 * @param taskId         the task the call is made for
 * @param taskExpiresAt  when that task expires: no approval outlives it
 * @param purpose        the task's stated purpose
 * @param route          the route called
 * @param operation      the operation ({@code GET /customers/7}, {@code mcp:tools/call:send_mail}, ...)
 * @param argsDigest     SHA-256 of the canonical arguments ({@code dev.toolgate.mcp.ArgsDigest}), or null for a
 *                       call without readable arguments
 * @param policy         the rule that asks for approval, with the policy version ({@code doc/rule@version})
 * @param shownArguments argument values the route allows approvers to see (already redacted); empty when none
 */
public record ApprovalRequest(SpiffeId agent, String taskId, Instant taskExpiresAt, String purpose, String route,
                              String operation, String argsDigest, String policy, Map<String, String> shownArguments) {
    public ApprovalRequest {
        requireNonNull(agent, "agent");
        requireNonNull(taskId, "taskId");
        requireNonNull(taskExpiresAt, "taskExpiresAt");
        requireNonNull(purpose, "purpose");
        requireNonNull(route, "route");
        requireNonNull(operation, "operation");
        shownArguments = shownArguments == null ? Map.of() : Map.copyOf(shownArguments);
    }

    /** What makes two calls "the same operation" for an approval: task, operation and argument digest. */
    String key() {
        return taskId + '\n' + operation + '\n' + (argsDigest == null ? "" : argsDigest);
    }
}
