package dev.toolgate.approval;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.ApprovalsConfig;
import dev.toolgate.identity.SpiffeId;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The approvals of one sidecar: calls whose policy rule says {@code approval: required} ask here, approvers decide
 * here.
 *
 * <p>A call is "the same operation" as another when its task, operation and argument digest are equal. The first
 * such call creates a pending approval (a new random id, audited {@code approval_requested}) and is answered
 * {@code PENDING_APPROVAL}; identical calls while it waits get the same approval. Pending approvals are bounded
 * ({@code approvals.maxPending} overall, {@code approvals.maxPendingPerTask} per task: past them a call is
 * {@link ApprovalCheck.Outcome#REFUSED}) and expire undecided after {@code approvals.pendingFor} (audited
 * {@code approval_expired}; the next identical call asks again with a new id). An approver's decision is audited
 * before it takes effect ({@code approval_granted} / {@code approval_denied}, actor = the approver): approved, the
 * operation passes for {@code approvals.validFor} or {@code approvals.calls} calls, whichever ends first; denied, it
 * stays denied for as long as the task lives. No approval outlives its task: its windows end at the task's expiry
 * and {@link #taskEnded} drops them when the task ends. An agent never decides its own request.
 *
 * <p>Thread-safe: one lock, held briefly; {@link #check} never blocks (it runs on event loops: its audit records
 * are offered once, and a request that cannot be audited fails closed); {@link #decide} waits for the audit trail
 * outside the lock.
 */
public final class Approvals {
    private static final Logger log = LoggerFactory.getLogger(Approvals.class);
    /** Longest reason a decider may give. */
    public static final int MAX_REASON_CHARS = 1024;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ApprovalsConfig config;
    private final Clock clock;
    private final ApprovalAudit audit;
    private final Object lock = new Object();
    /** The current approval of each operation key (pending, approved or denied). Guarded by {@link #lock}. */
    private final Map<String, ApprovalEntry> byKey = new HashMap<>();
    /** The same entries by id. Guarded by {@link #lock}. */
    private final Map<String, ApprovalEntry> byId = new HashMap<>();
    /** Pending approvals per task id. Guarded by {@link #lock}. */
    private final Map<String, Integer> pendingPerTask = new HashMap<>();
    /** Expiries whose record the trail did not take yet (retried on every call here). Guarded by {@link #lock}. */
    private final List<Approval> unauditedExpiries = new ArrayList<>();
    /** Guarded by {@link #lock}. */
    private int pending;
    /** Registries whose task ends this registry follows (see {@link #follow}). */
    private final java.util.Set<dev.toolgate.grant.TaskRegistry> followed =
            java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    private Approvals(ApprovalsConfig config, Clock clock, ApprovalAudit audit) {
        this.config = config;
        this.clock = clock;
        this.audit = audit;
    }

    /** A registry with {@code config}'s bounds and windows, judging time by {@code clock}, auditing to {@code audit}. */
    public static Approvals create(ApprovalsConfig config, Clock clock, ApprovalAudit audit) {
        return new Approvals(requireNonNull(config, "config"), requireNonNull(clock, "clock"),
                requireNonNull(audit, "audit"));
    }

    /** A registry with the default settings and no audit (tests, an authorizer built on its own). */
    public static Approvals withDefaults(Clock clock) {
        return create(ApprovalsConfig.defaults(), clock, ApprovalAudit.NONE);
    }

    /** The settings in force. */
    public ApprovalsConfig config() {
        return config;
    }

    // ---- the data plane ----------------------------------------------------------------------------------

    /**
     * What a call needing approval gets. {@link ApprovalCheck.Outcome#APPROVED} takes one call of the approval:
     * give it back with {@link #refund} if the call is denied by a later check. Never blocks.
     */
    public ApprovalCheck check(ApprovalRequest request) {
        requireNonNull(request, "request");
        Instant now = clock.instant();
        synchronized (lock) {
            flushExpiries();
            String key = request.key();
            ApprovalEntry e = byKey.get(key);
            if (e != null) {
                switch (e.state) {
                    case PENDING -> {
                        if (e.deciding || now.isBefore(e.until)) {
                            return new ApprovalCheck(ApprovalCheck.Outcome.PENDING, e.snapshot(), null);
                        }
                        expire(e, "not decided within approvals.pendingFor (" + config.pendingFor()
                                + ") or before its task expired");
                    }
                    case APPROVED -> {
                        if (now.isBefore(e.until) && e.callsLeft > 0) {
                            e.callsLeft--;
                            return new ApprovalCheck(ApprovalCheck.Outcome.APPROVED, e.snapshot(), null);
                        }
                        if (now.isBefore(e.until)) {
                            // Used up: the operation asks again, while Decide on this id still says "approved".
                            byKey.remove(key, e);
                        } else {
                            remove(e);
                        }
                    }
                    case DENIED -> {
                        if (now.isBefore(e.until)) {
                            return new ApprovalCheck(ApprovalCheck.Outcome.DENIED, e.snapshot(), null);
                        }
                        remove(e);
                    }
                    case EXPIRED -> remove(e);
                }
            }
            if (pending >= config.maxPending()) {
                return new ApprovalCheck(ApprovalCheck.Outcome.REFUSED, null, config.maxPending()
                        + " approvals are already waiting (approvals.maxPending); ask again once some are decided");
            }
            int ofTask = pendingPerTask.getOrDefault(request.taskId(), 0);
            if (ofTask >= config.maxPendingPerTask()) {
                return new ApprovalCheck(ApprovalCheck.Outcome.REFUSED, null, "task " + request.taskId()
                        + " already has " + ofTask + " approvals waiting (approvals.maxPendingPerTask); ask again"
                        + " once some are decided");
            }
            Instant until = min(now.plus(config.pendingFor()), request.taskExpiresAt());
            ApprovalEntry created = new ApprovalEntry(newId(), request, now, until);
            Approval snapshot = created.snapshot();
            if (!record(ApprovalAudit.Event.REQUESTED, snapshot, request.agent(), null, false)) {
                return new ApprovalCheck(ApprovalCheck.Outcome.FAILED, null, "the approval request could not be"
                        + " audited in time; denied (ERROR_FAIL_CLOSED)");
            }
            byKey.put(key, created);
            byId.put(created.id, created);
            pending++;
            pendingPerTask.merge(request.taskId(), 1, Integer::sum);
            return new ApprovalCheck(ApprovalCheck.Outcome.PENDING, snapshot, null);
        }
    }

    /** Gives back the call an {@link ApprovalCheck.Outcome#APPROVED} check took (a later check denied the call). */
    public void refund(String approvalId) {
        Instant now = clock.instant();
        synchronized (lock) {
            ApprovalEntry e = byId.get(approvalId);
            if (e != null && e.state == Approval.State.APPROVED && now.isBefore(e.until)) {
                e.callsLeft++;
            }
        }
    }

    // ---- approvers ---------------------------------------------------------------------------------------

    /**
     * The approvals waiting for a decision, oldest first.
     *
     * @param agent  only this agent's, or null for all
     * @param taskId only this task's, or null for all
     */
    public List<Approval> pending(SpiffeId agent, String taskId) {
        synchronized (lock) {
            sweepLocked(clock.instant());
            List<Approval> out = new ArrayList<>();
            for (ApprovalEntry e : byId.values()) {
                if (e.state == Approval.State.PENDING && (agent == null || agent.equals(e.request.agent()))
                        && (taskId == null || taskId.equals(e.request.taskId()))) {
                    out.add(e.snapshot());
                }
            }
            out.sort(Comparator.comparing(Approval::createdAt).thenComparing(Approval::id));
            return out;
        }
    }

    /**
     * Approves or denies a pending approval as {@code approver}. The decision is audited first (waiting for the
     * trail up to its bound); it takes effect only once the record was accepted.
     *
     * @param reason why; required to deny (the agent is told), optional to approve
     * @return the approval as decided
     * @throws ApprovalException {@code NOT_FOUND} for an unknown or expired id, {@code PERMISSION_DENIED} when the
     *                           approver is the agent that asked, {@code FAILED_PRECONDITION} when it was already
     *                           decided (or is being decided), {@code INVALID_ARGUMENT} for a denial without reason,
     *                           {@code UNAVAILABLE} when the decision could not be audited (nothing changed)
     */
    public Approval decide(String approvalId, boolean approve, String reason, SpiffeId approver)
            throws ApprovalException {
        requireNonNull(approver, "approver");
        String why = reason == null || reason.isBlank() ? null : reason.strip();
        if (!approve && why == null) {
            throw new ApprovalException(ApprovalException.Kind.INVALID_ARGUMENT,
                    "reason: missing (expected: why the call is denied; the agent is told)");
        }
        if (why != null && why.length() > MAX_REASON_CHARS) {
            throw new ApprovalException(ApprovalException.Kind.INVALID_ARGUMENT, "reason: " + why.length()
                    + " characters (expected: at most " + MAX_REASON_CHARS + ")");
        }
        ApprovalEntry e;
        Approval asked;
        synchronized (lock) {
            sweepLocked(clock.instant());
            e = approvalId == null ? null : byId.get(approvalId);
            if (e == null) {
                throw new ApprovalException(ApprovalException.Kind.NOT_FOUND, "approval " + approvalId
                        + ": unknown or expired (expected: an id ListPending shows)");
            }
            if (e.request.agent().equals(approver)) {
                throw new ApprovalException(ApprovalException.Kind.PERMISSION_DENIED, approver.uri()
                        + " asked for approval " + approvalId + " itself: an agent never approves its own request");
            }
            if (e.state != Approval.State.PENDING) {
                throw new ApprovalException(ApprovalException.Kind.FAILED_PRECONDITION, "approval " + approvalId
                        + " was already " + e.state.name().toLowerCase(java.util.Locale.ROOT) + " by "
                        + e.decidedBy.uri() + " at " + e.decidedAt);
            }
            if (e.deciding) {
                throw new ApprovalException(ApprovalException.Kind.FAILED_PRECONDITION, "approval " + approvalId
                        + " is being decided by another approver right now");
            }
            e.deciding = true;
            asked = e.snapshot();
        }
        boolean recorded;
        try {
            recorded = audit.record(approve ? ApprovalAudit.Event.GRANTED : ApprovalAudit.Event.DENIED, asked,
                    approver, why, true);
        } catch (RuntimeException ex) {
            log.error("auditing the decision on approval {} failed", approvalId, ex);
            recorded = false;
        }
        Instant now = clock.instant();
        synchronized (lock) {
            e.deciding = false;
            if (!recorded) {
                throw new ApprovalException(ApprovalException.Kind.UNAVAILABLE, "the decision on approval "
                        + approvalId + " could not be audited; nothing changed (it is still pending)");
            }
            if (byId.get(approvalId) != e) {
                throw new ApprovalException(ApprovalException.Kind.NOT_FOUND, "approval " + approvalId
                        + ": its task ended while it was being decided");
            }
            pendingDone(e);
            e.state = approve ? Approval.State.APPROVED : Approval.State.DENIED;
            e.decidedBy = approver;
            e.reason = why;
            e.decidedAt = now;
            e.until = approve ? min(now.plus(config.validFor()), e.request.taskExpiresAt())
                    : e.request.taskExpiresAt();
            e.callsLeft = approve ? config.calls() : 0;
            return e.snapshot();
        }
    }

    // ---- housekeeping ------------------------------------------------------------------------------------

    /**
     * Drops a task's approvals when {@code tasks} ends or revokes it ({@link #taskEnded}); once per registry, however
     * many authorizers (one per route set) share this registry.
     */
    public void follow(dev.toolgate.grant.TaskRegistry tasks) {
        synchronized (lock) {
            if (!followed.add(tasks)) {
                return;
            }
        }
        tasks.onEnded(t -> taskEnded(t.id()));
    }

    /** Drops every approval of a task that ended or was revoked (pending ones are audited as expired). */
    public void taskEnded(String taskId) {
        synchronized (lock) {
            if (byId.isEmpty()) {
                return;
            }
            for (ApprovalEntry e : new ArrayList<>(byId.values())) {
                if (e.request.taskId().equals(taskId)) {
                    if (e.state == Approval.State.PENDING && !e.deciding) {
                        expire(e, "task " + taskId + " ended");
                    } else {
                        remove(e);
                    }
                }
            }
        }
    }

    /**
     * Expires pending approvals past their time (audited) and forgets approvals whose window ended. Called on every
     * listing and decision, and periodically by the sidecar.
     */
    public void sweep() {
        synchronized (lock) {
            sweepLocked(clock.instant());
        }
    }

    /** Approvals waiting for a decision now. */
    public int pendingCount() {
        synchronized (lock) {
            return pending;
        }
    }

    private void sweepLocked(Instant now) {
        flushExpiries();
        for (ApprovalEntry e : new ArrayList<>(byId.values())) {
            switch (e.state) {
                case PENDING -> {
                    if (!e.deciding && !now.isBefore(e.until)) {
                        expire(e, "not decided within approvals.pendingFor (" + config.pendingFor()
                                + ") or before its task expired");
                    }
                }
                case APPROVED -> {
                    if (!now.isBefore(e.until)) {
                        remove(e);
                    }
                }
                case DENIED -> {
                    if (!now.isBefore(e.until)) {
                        remove(e);
                    }
                }
                case EXPIRED -> remove(e);
            }
        }
    }

    /** Marks a pending entry expired, forgets it and audits it (retried later if the trail is full now). */
    private void expire(ApprovalEntry e, String why) {
        remove(e);
        e.state = Approval.State.EXPIRED;
        e.reason = why;
        Approval snapshot = e.snapshot();
        if (!record(ApprovalAudit.Event.EXPIRED, snapshot, null, why, false)) {
            unauditedExpiries.add(snapshot);
        }
    }

    private void flushExpiries() {
        while (!unauditedExpiries.isEmpty()) {
            Approval a = unauditedExpiries.get(0);
            if (!record(ApprovalAudit.Event.EXPIRED, a, null, a.reason(), false)) {
                return;
            }
            unauditedExpiries.remove(0);
        }
    }

    private void remove(ApprovalEntry e) {
        byId.remove(e.id, e);
        byKey.remove(e.request.key(), e);
        if (e.state == Approval.State.PENDING) {
            pendingDone(e);
        }
    }

    private void pendingDone(ApprovalEntry e) {
        pending--;
        pendingPerTask.computeIfPresent(e.request.taskId(), (t, n) -> n <= 1 ? null : n - 1);
    }

    private boolean record(ApprovalAudit.Event event, Approval a, SpiffeId actor, String reason, boolean mayWait) {
        try {
            return audit.record(event, a, actor, reason, mayWait);
        } catch (RuntimeException ex) {
            log.error("auditing {} of approval {} failed", event.json(), a.id(), ex);
            return false;
        }
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private static String newId() {
        byte[] b = new byte[12];
        RANDOM.nextBytes(b);
        return "apr_" + HexFormat.of().formatHex(b);
    }
}
