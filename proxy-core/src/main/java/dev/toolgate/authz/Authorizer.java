package dev.toolgate.authz;

import static java.util.Objects.requireNonNull;

import dev.toolgate.approval.Approval;
import dev.toolgate.approval.ApprovalCheck;
import dev.toolgate.approval.ApprovalRequest;
import dev.toolgate.approval.Approvals;
import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.call.Call;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.grant.Task;
import dev.toolgate.grant.LiveGrant;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.grant.TaskState;
import dev.toolgate.mcp.McpHousekeeping;
import dev.toolgate.policy.ConditionException;
import dev.toolgate.policy.PolicySet;
import dev.toolgate.policy.Verdict;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * Decides one call: default deny; allowed only when the call carries the token of an active, unexpired task bound
 * to the caller's identity and a live grant of that task on the route matches the operation and has budget left.
 *
 * <p>Checks run in this order, and the first that fails decides: token present ({@code DENY_NO_TASK}), the view of
 * a shared task store current ({@code ERROR_FAIL_CLOSED} naming the store, past {@code fleet.maxStaleness}), token
 * known ({@code DENY_NO_TASK}),
 * bound to the caller ({@code DENY_IDENTITY_MISMATCH}: checked before the task's state, so a stolen token tells
 * its holder nothing), task state ({@code DENY_TASK_ENDED}, {@code DENY_TASK_EXPIRED}), a matching grant
 * ({@code DENY_NO_GRANT}), the policy in force ({@code DENY_POLICY} for a deny rule or no allow rule,
 * {@code DENY_FLOW} for a flow rule over what the task touched before, {@code DENY_CONDITION} for an allow rule's
 * condition; a shadow-mode document only marks the call {@code would_deny}), the grant's own condition
 * ({@code DENY_CONDITION}), its budget and the rule's rate ({@code DENY_BUDGET}). A condition that cannot be
 * evaluated denies ({@code ERROR_FAIL_CLOSED}). On an MCP route, protocol housekeeping ({@link McpHousekeeping})
 * passes when the task holds any live grant there.
 *
 * <p>A call whose allowing rule says {@code approval: required} asks the {@link Approvals} after the policy: while
 * its approval waits it is denied {@code PENDING_APPROVAL} with the approval's id; once a person denied it,
 * {@code DENY_POLICY} ("approval apr_... denied by ...: reason") for as long as the task lives; past the bounds on
 * waiting approvals, {@code DENY_BUDGET}; a request that cannot be audited, {@code ERROR_FAIL_CLOSED}. An approved
 * call goes on through the grant's condition, budget and the rule's rate like any other, and a later denial gives
 * the approval's call back.
 *
 * <p>Pure and thread-safe: no I/O, no locks, except that a call whose rule needs approval takes the approvals' lock
 * briefly (and offers its {@code approval_requested} record to the audit trail without waiting). An allowed call
 * allocates its {@link Decision} and a small view of the call for the policy.
 */
public final class Authorizer {
    private final TaskRegistry tasks;
    private final Map<String, Set<String>> routeLabels;
    private final Approvals approvals;
    private final Map<String, ArgumentCapture> captures;

    /** An authorizer for routes without labels (no flow rule can fire), with approvals on default settings. */
    public Authorizer(TaskRegistry tasks) {
        this(tasks, Map.of());
    }

    /**
     * With approvals on default settings, unaudited ({@link Approvals#withDefaults}).
     *
     * @param routeLabels each route's labels, which flow rules and the task's history are about
     */
    public Authorizer(TaskRegistry tasks, Map<String, Set<String>> routeLabels) {
        this(tasks, routeLabels, Approvals.withDefaults(tasks.clock()));
    }

    /**
     * @param routeLabels each route's labels, which flow rules and the task's history are about
     * @param approvals   where calls needing approval ask (told when a task ends, so no approval outlives it)
     */
    public Authorizer(TaskRegistry tasks, Map<String, Set<String>> routeLabels, Approvals approvals) {
        this(tasks, routeLabels, approvals, Map.of());
    }

    /**
     * @param captures each route's argument capture: what approvers are shown of a call that needs approval (a route
     *                 without one shows only the argument digest)
     */
    public Authorizer(TaskRegistry tasks, Map<String, Set<String>> routeLabels, Approvals approvals,
                      Map<String, ArgumentCapture> captures) {
        this.captures = Map.copyOf(captures);
        this.tasks = requireNonNull(tasks, "tasks");
        this.routeLabels = Map.copyOf(routeLabels);
        this.approvals = requireNonNull(approvals, "approvals");
        approvals.follow(tasks);
    }

    /**
     * Gives back what an allowed call took when it is not forwarded after all (another message of its JSON-RPC
     * batch was denied, its MCP session belongs to someone else, its credential or decision record failed): one call
     * of its grant's budget and the use of its approval. The labels it would have touched stay touched (flow rules
     * only become stricter by it).
     */
    public void release(Decision.Allow allow) {
        requireNonNull(allow, "allow");
        if (!allow.housekeeping()) {
            LiveGrant g = allow.task().grant(allow.grant().id());
            if (g != null) {
                g.refund();
            }
        }
        if (allow.approvalId() != null) {
            approvals.refund(allow.approvalId());
        }
    }

    /** The approvals calls of this authorizer ask (ApprovalService lists and decides them). */
    public Approvals approvals() {
        return approvals;
    }

    public Decision decide(Call call) {
        if (call.taskToken() == null) {
            return new Decision.Deny(DecisionCode.DENY_NO_TASK, "no task: start one (POST /_toolgate/v1/tasks) and"
                    + " send its token in the toolgate-task header", null);
        }
        LiveTask task = tasks.find(call.taskToken());
        String stale = tasks.staleness();
        if (stale != null) {
            // A view of a shared store that is too old may still hold a task revoked elsewhere: decide nothing.
            return new Decision.Deny(DecisionCode.ERROR_FAIL_CLOSED, stale, task);
        }
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
        String operation = call.operation(); // built once: grants, policy and housekeeping all read this string
        if (McpHousekeeping.covers(call.protocol(), operation)) {
            for (LiveGrant g : grants) {
                if (!g.revoked() && !g.expired(now)) {
                    return new Decision.Allow(task, g.grant(), true);
                }
            }
        }
        boolean matched = false;
        for (LiveGrant g : grants) {
            if (!g.revoked() && !g.expired(now) && g.grant().matches(operation)) {
                matched = true;
                break;
            }
        }
        if (!matched) {
            return new Decision.Deny(DecisionCode.DENY_NO_GRANT, "task " + task.task().id()
                    + " holds no live grant for " + operation + " on route " + call.route(), task);
        }
        PolicySet rules = tasks.policy();
        Set<String> labels = routeLabels.getOrDefault(call.route(), Set.of());
        CallView facts = new CallView(call, operation, labels, task, now);
        Verdict verdict;
        try {
            verdict = rules.evaluate(facts);
        } catch (ConditionException e) {
            return new Decision.Deny(DecisionCode.ERROR_FAIL_CLOSED, "a policy condition could not be evaluated: "
                    + e.getMessage(), task, rules.version());
        }
        String policy = verdict.rule() == null ? null : verdict.rule() + "@" + rules.version();
        if (!verdict.forwards()) {
            return new Decision.Deny(verdict.code(), verdict.reason(), task, policy);
        }
        String approvalId = null;
        if (verdict.approvalRequired()) {
            Task t = task.task();
            // Approvers see the arguments the route's audit settings capture, redacted the same way.
            Map<String, String> shown = call.mcp() == null || call.mcp().arguments() == null ? Map.of()
                    : captures.getOrDefault(call.route(), ArgumentCapture.NONE).capture(call.mcp().arguments());
            ApprovalCheck check = approvals.check(new ApprovalRequest(call.agent(), t.id(), t.expiresAt(),
                    t.purpose(), call.route(), operation, call.argsDigest(), policy, shown));
            Approval a = check.approval();
            switch (check.outcome()) {
                case APPROVED -> approvalId = a.id();
                case PENDING -> {
                    return new Decision.Deny(DecisionCode.PENDING_APPROVAL, verdict.rule() + " requires a person's"
                            + " approval of this call: approval " + a.id() + " is pending until " + a.expiresAt()
                            + " (an approver runs: toolgate approvals approve " + a.id() + "); call again once it is"
                            + " approved", task, policy, a.id());
                }
                case DENIED -> {
                    return new Decision.Deny(DecisionCode.DENY_POLICY, "approval " + a.id() + " denied by "
                            + a.decidedBy().uri() + ": " + a.reason(), task, policy, a.id());
                }
                case REFUSED -> {
                    return new Decision.Deny(DecisionCode.DENY_BUDGET, check.reason(), task, policy);
                }
                case FAILED -> {
                    return new Decision.Deny(DecisionCode.ERROR_FAIL_CLOSED, check.reason(), task, policy);
                }
            }
        }
        if (approvalId == null) {
            return underGrants(task, grants, operation, facts, verdict, policy, labels, now, null);
        }
        Decision d;
        try {
            d = underGrants(task, grants, operation, facts, verdict, policy, labels, now, approvalId);
        } catch (RuntimeException e) {
            approvals.refund(approvalId);
            throw e;
        }
        if (d instanceof Decision.Deny) {
            approvals.refund(approvalId); // the approval covers a call that is forwarded, not one denied later
        }
        return d;
    }

    /** The checks after the policy: a matching grant whose condition holds and budget is left, then the rate. */
    private Decision underGrants(LiveTask task, LiveGrant[] grants, String operation, CallView facts, Verdict verdict,
                                 String policy, Set<String> labels, long now, String approvalId) {
        LiveGrant spent = null;
        LiveGrant conditionFailed = null;
        for (LiveGrant g : grants) {
            if (g.revoked() || g.expired(now) || !g.grant().matches(operation)) {
                continue;
            }
            try {
                if (!g.conditionHolds(facts)) {
                    conditionFailed = g;
                    continue;
                }
            } catch (ConditionException e) {
                return new Decision.Deny(DecisionCode.ERROR_FAIL_CLOSED, "the condition of grant " + g.grant().id()
                        + " could not be evaluated: " + e.getMessage(), task, policy);
            }
            if (!g.trySpend()) {
                spent = g;
                continue;
            }
            long wait = verdict.rate() == null ? 0
                    : task.rate(verdict.rule(), verdict.rate(), tasks::nanoTime).tryAcquireOrDelay();
            if (wait > 0) {
                g.refund();
                Duration retry = Duration.ofNanos(wait);
                return new Decision.Deny(DecisionCode.DENY_BUDGET, "rate limit of " + verdict.rule() + " reached ("
                        + verdict.rate().perSecond() + "/s, burst " + verdict.rate().burst() + "); retry in "
                        + Math.max(1, retry.toMillis()) + " ms", task, policy, null, retry);
            }
            task.touched(labels);
            return new Decision.Allow(task, g.grant(), false, policy, verdict.shadow() ? verdict : null, approvalId);
        }
        if (spent != null) {
            return new Decision.Deny(DecisionCode.DENY_BUDGET, "grant " + spent.grant().id() + " of task "
                    + task.task().id() + " has no calls left (budget " + spent.grant().budget() + ")", task, policy);
        }
        return new Decision.Deny(DecisionCode.DENY_CONDITION, "the condition of grant " + conditionFailed.grant().id()
                + " does not hold: " + conditionFailed.grant().condition(), task, policy);
    }
}
