package dev.toolgate.cli;

import com.google.protobuf.Timestamp;
import dev.toolgate.api.v1.DelegateTaskRequest;
import dev.toolgate.api.v1.DelegateTaskResponse;
import dev.toolgate.api.v1.EndTaskRequest;
import dev.toolgate.api.v1.GetTaskRequest;
import dev.toolgate.api.v1.Grant;
import dev.toolgate.api.v1.ListTasksRequest;
import dev.toolgate.api.v1.ListTasksResponse;
import dev.toolgate.api.v1.RequestedGrant;
import dev.toolgate.api.v1.RevokeGrantRequest;
import dev.toolgate.api.v1.RevokeTaskRequest;
import dev.toolgate.api.v1.StartTaskRequest;
import dev.toolgate.api.v1.StartTaskResponse;
import dev.toolgate.api.v1.Task;
import dev.toolgate.api.v1.TaskServiceGrpc;
import dev.toolgate.api.v1.TaskState;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code toolgate task start|delegate|end|revoke|revoke-grant|get|list}: the TaskService of a running sidecar over
 * its control API. Exit codes: 0 done, 1 refused by the sidecar (the status and its reason are printed), 2 a local
 * problem (options, SVID files).
 */
@Command(name = "task", mixinStandardHelpOptions = true,
        description = "Start, delegate, end, revoke and list tasks on a running sidecar (control API).",
        subcommands = {TaskCommand.Start.class, TaskCommand.Delegate.class, TaskCommand.End.class,
                TaskCommand.Revoke.class, TaskCommand.RevokeGrant.class, TaskCommand.Get.class,
                TaskCommand.ListTasks.class})
final class TaskCommand {

    /** A {@code task} command: one call or more on the service, through {@link ControlRpc}. */
    abstract static class Rpc extends ControlRpc<TaskServiceGrpc.TaskServiceBlockingStub> {
        Rpc() {
            super("task", TaskServiceGrpc::newBlockingStub);
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Start a task; prints it, then its token alone on the last line.")
    static final class Start extends Rpc {
        @Option(names = "--purpose", required = true, description = "What the task is for (audited with every call).")
        String purpose;

        @Option(names = "--ttl", description = "Lifetime, e.g. 10m (default: the sidecar's tasks.defaultTtl).")
        String ttl;

        @Option(names = "--grant", required = true, paramLabel = "GRANT",
                description = "Repeatable: " + GrantSpecs.SYNTAX + ", e.g. 'route=weather,op=GET /v1/forecast/*,"
                        + "budget=5'.")
        List<String> grants;

        @Option(names = "--agent", paramLabel = "SPIFFE_ID",
                description = "Start it for another agent (the caller must be in access.orchestrators).")
        String agent;

        @Option(names = "--token-only", description = "Print only the token (for scripts: T=$(toolgate task start"
                + " ... --token-only)).")
        boolean tokenOnly;

        @Override
        int call(TaskServiceGrpc.TaskServiceBlockingStub tasks, PrintWriter out) {
            StartTaskRequest.Builder req = StartTaskRequest.newBuilder().setPurpose(purpose)
                    .addAllGrants(grants(grants));
            if (ttl != null) {
                req.setTtl(GrantSpecs.duration(ttl));
            }
            if (agent != null) {
                req.setAgent(agent);
            }
            StartTaskResponse res = tasks.startTask(req.build());
            printStarted(out, res.getTask(), res.getToken(), tokenOnly);
            return 0;
        }
    }

    @Command(name = "delegate", mixinStandardHelpOptions = true,
            description = "Delegate part of a task to another agent; prints the child task, then its token.")
    static final class Delegate extends Rpc {
        @Option(names = "--parent-token", required = true, paramLabel = "TOKEN",
                description = "The token of the task to delegate from (the caller must be its agent).")
        String parentToken;

        @Option(names = "--agent", required = true, paramLabel = "SPIFFE_ID",
                description = "The agent the task is delegated to.")
        String agent;

        @Option(names = "--purpose", required = true, description = "What the delegated task is for.")
        String purpose;

        @Option(names = "--ttl", description = "Lifetime, e.g. 5m (default: tasks.defaultTtl, at most the parent's).")
        String ttl;

        @Option(names = "--grant", required = true, paramLabel = "GRANT",
                description = "Repeatable, each within a live grant of the parent: " + GrantSpecs.SYNTAX + ".")
        List<String> grants;

        @Option(names = "--token-only", description = "Print only the child task's token.")
        boolean tokenOnly;

        @Override
        int call(TaskServiceGrpc.TaskServiceBlockingStub tasks, PrintWriter out) {
            DelegateTaskRequest.Builder req = DelegateTaskRequest.newBuilder().setParentToken(parentToken)
                    .setAgent(agent).setPurpose(purpose).addAllGrants(grants(grants));
            if (ttl != null) {
                req.setTtl(GrantSpecs.duration(ttl));
            }
            DelegateTaskResponse res = tasks.delegateTask(req.build());
            printStarted(out, res.getTask(), res.getToken(), tokenOnly);
            return 0;
        }
    }

    /**
     * A command that changes one task ({@code end}, {@code revoke}, {@code revoke-grant}): its id first, an optional
     * {@code --reason} for the audit trail, the changed task printed.
     */
    abstract static class TaskChange extends Rpc {
        @Parameters(index = "0", paramLabel = "TASK_ID")
        String taskId;

        @Option(names = "--reason", description = "Recorded in the audit trail.")
        String reason;

        /** Makes the change ({@code reason}: empty when none was given, which proto3 does not send). */
        abstract Task change(TaskServiceGrpc.TaskServiceBlockingStub tasks, String reason);

        @Override
        final int call(TaskServiceGrpc.TaskServiceBlockingStub tasks, PrintWriter out) {
            printTask(out, change(tasks, reason == null ? "" : reason));
            return 0;
        }
    }

    @Command(name = "end", mixinStandardHelpOptions = true,
            description = "End a task (and revoke what was delegated from it); the next call with its token is denied.")
    static final class End extends TaskChange {
        @Override
        Task change(TaskServiceGrpc.TaskServiceBlockingStub tasks, String reason) {
            return tasks.endTask(EndTaskRequest.newBuilder().setTaskId(taskId).setReason(reason).build());
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revoke a task by force (and what was delegated from it).")
    static final class Revoke extends TaskChange {
        @Override
        Task change(TaskServiceGrpc.TaskServiceBlockingStub tasks, String reason) {
            return tasks.revokeTask(RevokeTaskRequest.newBuilder().setTaskId(taskId).setReason(reason).build());
        }
    }

    @Command(name = "revoke-grant", mixinStandardHelpOptions = true,
            description = "Revoke one grant of a task (and what delegated tasks hold only through it).")
    static final class RevokeGrant extends TaskChange {
        @Parameters(index = "1", paramLabel = "GRANT_ID", description = "e.g. g1")
        String grantId;

        @Override
        Task change(TaskServiceGrpc.TaskServiceBlockingStub tasks, String reason) {
            return tasks.revokeGrant(RevokeGrantRequest.newBuilder().setTaskId(taskId).setGrantId(grantId)
                    .setReason(reason).build());
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Show one task and its grants.")
    static final class Get extends Rpc {
        @Parameters(index = "0", paramLabel = "TASK_ID")
        String taskId;

        @Override
        int call(TaskServiceGrpc.TaskServiceBlockingStub tasks, PrintWriter out) {
            printTask(out, tasks.getTask(GetTaskRequest.newBuilder().setTaskId(taskId).build()));
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the tasks the caller may see (all of them for access.admins), newest first.")
    static final class ListTasks extends Rpc {
        @Option(names = "--agent", paramLabel = "SPIFFE_ID", description = "Only this agent's tasks.")
        String agent;

        @Option(names = "--state", paramLabel = "STATE",
                description = "Only tasks in this state: ${COMPLETION-CANDIDATES} (any case).")
        dev.toolgate.grant.TaskState state;

        @Override
        int call(TaskServiceGrpc.TaskServiceBlockingStub tasks, PrintWriter out) {
            ListTasksRequest.Builder req = ListTasksRequest.newBuilder();
            if (agent != null) {
                req.setAgent(agent);
            }
            if (state != null) {
                req.setState(TaskState.valueOf("TASK_STATE_" + state.name()));
            }
            ListTasksResponse res = tasks.listTasks(req.build());
            out.printf("%-26s %-8s %-22s %-44s %s%n", "TASK", "STATE", "EXPIRES", "AGENT", "PURPOSE");
            for (Task t : res.getTasksList()) {
                out.printf("%-26s %-8s %-22s %-44s %s%n", t.getTaskId(), state(t.getState()),
                        time(t.getExpiresAt()), t.getAgent(), t.getPurpose());
            }
            return 0;
        }
    }

    // ---- shared ------------------------------------------------------------------------------------------

    static List<RequestedGrant> grants(List<String> specs) {
        List<RequestedGrant> out = new ArrayList<>(specs.size());
        for (String s : specs) {
            out.add(GrantSpecs.parse(s));
        }
        return out;
    }

    static void printStarted(PrintWriter out, Task task, String token, boolean tokenOnly) {
        if (!tokenOnly) {
            printTask(out, task);
        }
        out.println(token);
    }

    static void printTask(PrintWriter out, Task t) {
        out.printf("task %s  %s  agent %s  expires %s%n", t.getTaskId(), state(t.getState()), t.getAgent(),
                time(t.getExpiresAt()));
        out.printf("  purpose: %s%n", t.getPurpose());
        if (!t.getParentTaskId().isEmpty()) {
            out.printf("  delegated from %s by %s%n", t.getParentTaskId(), t.getStartedBy());
        } else if (!t.getStartedBy().equals(t.getAgent())) {
            out.printf("  started by %s%n", t.getStartedBy());
        }
        for (Grant g : t.getGrantsList()) {
            String budget = g.hasBudget() ? "  budget " + g.getRemaining() + "/" + g.getBudget() + " left" : "";
            out.printf("  %s  %s  %s  %s%s%n", g.getGrantId(), g.getRoute(), String.join(", ", g.getOperationsList()),
                    g.getState().name().substring("GRANT_STATE_".length()).toLowerCase(Locale.ROOT), budget);
            if (!g.getWhen().isEmpty()) {
                out.printf("      when %s%n", g.getWhen());
            }
        }
    }

    static String state(TaskState s) {
        return s.name().startsWith("TASK_STATE_")
                ? s.name().substring("TASK_STATE_".length()).toLowerCase(Locale.ROOT) : s.name();
    }

    static String time(Timestamp ts) {
        return Instant.ofEpochSecond(ts.getSeconds()).toString();
    }
}
