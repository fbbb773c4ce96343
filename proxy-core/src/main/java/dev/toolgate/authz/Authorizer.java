package dev.toolgate.authz;

import static java.util.Objects.requireNonNull;

import dev.toolgate.call.Call;
import dev.toolgate.grant.LiveGrant;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.grant.TaskState;

/**
 * Decides one call: default deny; allowed only when the call carries the token of an active, unexpired task bound
 * to the caller's identity and a live grant of that task on the route matches the operation and has budget left.
 *
 * <p>Checks run in this order, and the first that fails decides: token present and known ({@code DENY_NO_TASK}),
 * bound to the caller ({@code DENY_IDENTITY_MISMATCH}: checked before the task's state, so a stolen token tells
 * its holder nothing), task state ({@code DENY_TASK_ENDED}, {@code DENY_TASK_EXPIRED}), a matching grant
 * ({@code DENY_NO_GRANT}), its budget ({@code DENY_BUDGET}). On an MCP route, protocol housekeeping passes when
 * the task holds any live grant there. Policy and flow rules join with the policy engine.
 *
 * <p>Pure and thread-safe: no I/O, no locks; a call that is allowed allocates only its {@link Decision}.
 */
public final class Authorizer {
    private final TaskRegistry tasks;

    public Authorizer(TaskRegistry tasks) {
        this.tasks = requireNonNull(tasks, "tasks");
    }

    public Decision decide(Call call) {
        if (call.taskToken() == null) {
            return new Decision.Deny(DecisionCode.DENY_NO_TASK, "no task: start one (POST /_toolgate/v1/tasks) and"
                    + " send its token in the toolgate-task header", null);
        }
        LiveTask task = tasks.find(call.taskToken());
        if (task == null) {
            return new Decision.Deny(DecisionCode.DENY_NO_TASK, "unknown task token", null);
        }
        if (!task.task().subject().equals(call.agent())) {
            return new Decision.Deny(DecisionCode.DENY_IDENTITY_MISMATCH, "the task token of " + task.task().id()
                    + " is bound to another workload; presented by " + call.agent().uri()
                    + " (probable stolen token)", task);
        }
        long now = tasks.clock().millis();
        TaskState state = task.state(now);
        if (state != TaskState.ACTIVE) {
            return new Decision.Deny(state == TaskState.EXPIRED ? DecisionCode.DENY_TASK_EXPIRED
                    : DecisionCode.DENY_TASK_ENDED, "task " + task.task().id() + " is " + state.json(), task);
        }
        LiveGrant[] grants = task.grantsFor(call.route());
        if (housekeeping(call)) {
            for (LiveGrant g : grants) {
                if (!g.revoked() && !g.expired(now)) {
                    return new Decision.Allow(task, g.grant(), true);
                }
            }
        }
        LiveGrant spent = null;
        for (LiveGrant g : grants) {
            if (g.revoked() || g.expired(now) || !g.grant().matches(call)) {
                continue;
            }
            if (g.trySpend()) {
                return new Decision.Allow(task, g.grant());
            }
            spent = g;
        }
        if (spent != null) {
            return new Decision.Deny(DecisionCode.DENY_BUDGET, "grant " + spent.grant().id() + " of task "
                    + task.task().id() + " has no calls left (budget " + spent.grant().budget() + ")", task);
        }
        return new Decision.Deny(DecisionCode.DENY_NO_GRANT, "task " + task.task().id() + " holds no live grant for "
                + call.operation() + " on route " + call.route(), task);
    }

    /**
     * MCP protocol housekeeping (DESIGN.md, Operations and matching): session set-up, liveness, cancellation, the
     * event stream and closing the session. Allowed without a grant of its own on an MCP route where the task
     * holds a live grant; audited like any call.
     */
    private static boolean housekeeping(Call call) {
        if (!call.protocol().equals("mcp")) {
            return false;
        }
        return switch (call.operation()) {
            case "mcp:initialize", "mcp:notifications/initialized", "mcp:ping", "mcp:notifications/cancelled",
                    Call.MCP_STREAM, Call.MCP_SESSION_CLOSE -> true;
            default -> false;
        };
    }
}
