package dev.toolgate.cli;

import dev.toolgate.api.v1.Approval;
import dev.toolgate.api.v1.ApprovalDecision;
import dev.toolgate.api.v1.ApprovalServiceGrpc;
import dev.toolgate.api.v1.DecideRequest;
import dev.toolgate.api.v1.ListPendingRequest;
import dev.toolgate.api.v1.ListPendingResponse;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code toolgate approvals list|approve|deny}: the ApprovalService of a running sidecar over its control API, for
 * callers listed in {@code access.approvers}. Exit codes: 0 done, 1 refused by the sidecar (the status and its
 * reason are printed), 2 a local problem (options, SVID files).
 */
@Command(name = "approvals", mixinStandardHelpOptions = true,
        description = "List, approve and deny calls waiting for a person's approval on a running sidecar"
                + " (control API; the caller must be in access.approvers).",
        subcommands = {ApprovalsCommand.ListPending.class, ApprovalsCommand.Approve.class,
                ApprovalsCommand.Deny.class})
final class ApprovalsCommand {

    /** A {@code approvals} command: one call or more on the service, through {@link ControlRpc}. */
    abstract static class Rpc extends ControlRpc<ApprovalServiceGrpc.ApprovalServiceBlockingStub> {
        Rpc() {
            super("approvals", ApprovalServiceGrpc::newBlockingStub);
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the approvals waiting for a decision, oldest first, with the intent of each call.")
    static final class ListPending extends Rpc {
        @Option(names = "--agent", paramLabel = "SPIFFE_ID", description = "Only this agent's approvals.")
        String agent;

        @Option(names = "--task", paramLabel = "TASK_ID", description = "Only this task's approvals.")
        String task;

        @Override
        int call(ApprovalServiceGrpc.ApprovalServiceBlockingStub approvals, PrintWriter out) {
            ListPendingRequest.Builder req = ListPendingRequest.newBuilder();
            if (agent != null) {
                req.setAgent(agent);
            }
            if (task != null) {
                req.setTaskId(task);
            }
            ListPendingResponse res = approvals.listPending(req.build());
            out.printf("%-28s %-22s %-26s %-44s %s%n", "APPROVAL", "EXPIRES", "TASK", "AGENT", "OPERATION");
            for (Approval a : res.getApprovalsList()) {
                out.printf("%-28s %-22s %-26s %-44s %s%n", a.getApprovalId(), TaskCommand.time(a.getExpiresAt()),
                        a.getTaskId(), a.getAgent(), a.getRoute() + " " + a.getOperation());
                out.printf("  purpose: %s%n", a.getPurpose());
                out.printf("  rule: %s%n", a.getPolicy());
                if (!a.getArgsDigest().isEmpty()) {
                    out.printf("  args_digest: %s%n", a.getArgsDigest());
                }
                for (Map.Entry<String, String> arg : new TreeMap<>(a.getArgumentsMap()).entrySet()) {
                    out.printf("  arg %s = %s%n", arg.getKey(), arg.getValue());
                }
            }
            return 0;
        }
    }

    @Command(name = "approve", mixinStandardHelpOptions = true,
            description = "Approve a pending call: the same operation of that task passes for approvals.validFor or"
                    + " approvals.calls calls, whichever ends first.")
    static final class Approve extends Rpc {
        @Parameters(index = "0", paramLabel = "APPROVAL_ID", description = "e.g. apr_0123456789abcdef01234567")
        String approvalId;

        @Option(names = "--reason", description = "Why (recorded in the audit trail).")
        String reason;

        @Override
        int call(ApprovalServiceGrpc.ApprovalServiceBlockingStub approvals, PrintWriter out) {
            DecideRequest.Builder req = DecideRequest.newBuilder().setApprovalId(approvalId)
                    .setDecision(ApprovalDecision.APPROVAL_DECISION_APPROVE);
            if (reason != null) {
                req.setReason(reason);
            }
            print(out, approvals.decide(req.build()));
            return 0;
        }
    }

    @Command(name = "deny", mixinStandardHelpOptions = true,
            description = "Deny a pending call: the same operation of that task stays denied while the task lives.")
    static final class Deny extends Rpc {
        @Parameters(index = "0", paramLabel = "APPROVAL_ID", description = "e.g. apr_0123456789abcdef01234567")
        String approvalId;

        @Option(names = "--reason", required = true, description = "Why (the agent is told; recorded in the audit"
                + " trail).")
        String reason;

        @Override
        int call(ApprovalServiceGrpc.ApprovalServiceBlockingStub approvals, PrintWriter out) {
            print(out, approvals.decide(DecideRequest.newBuilder().setApprovalId(approvalId)
                    .setDecision(ApprovalDecision.APPROVAL_DECISION_DENY).setReason(reason).build()));
            return 0;
        }
    }

    static void print(PrintWriter out, Approval a) {
        String state = a.getState().name().substring("APPROVAL_STATE_".length()).toLowerCase(Locale.ROOT);
        out.printf("approval %s  %s by %s  task %s  %s %s%n", a.getApprovalId(), state, a.getDecidedBy(),
                a.getTaskId(), a.getRoute(), a.getOperation());
        if (!a.getReason().isEmpty()) {
            out.printf("  reason: %s%n", a.getReason());
        }
        if (a.getState() == dev.toolgate.api.v1.ApprovalState.APPROVAL_STATE_APPROVED) {
            out.printf("  covers %d more call(s) until %s%n", a.getCallsLeft(), TaskCommand.time(a.getExpiresAt()));
        } else {
            out.printf("  denied until the task ends (%s)%n", TaskCommand.time(a.getExpiresAt()));
        }
    }
}
