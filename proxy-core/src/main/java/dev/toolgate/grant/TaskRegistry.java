package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.policy.PolicySet;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tasks of one sidecar: start, delegate, end, revoke, and the lookup every call makes. The public entry of the
 * package; the work is shared with {@link GrantChecks} (what may be granted), {@link TaskAccess} (who may manage
 * what), {@link TaskIndex} (the tasks by id and token hash, and the cache) and the {@link TaskStore} (the source of
 * truth the index is rebuilt from).
 *
 * <p>State changes are recorded in the store and applied to the index before the method returns, so a call that
 * starts after {@link #end} returned is denied. The lookup ({@link #find}) takes no lock and does not block.
 *
 * <p>Thread-safe. Lifecycle methods throw {@link TaskException} whose kind says how a request was refused; none
 * throws for a refused token on the hot path (it answers null).
 */
public final class TaskRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TaskRegistry.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final int maxActive;
    private final TaskAccess access;
    private final GrantChecks checks;
    private final TaskStore store;
    private final Clock clock;
    private final Ticker ticker;
    private final TaskAudit audit;
    private final TaskIndex index;
    /** Held for every change: the store append and the index update that go with it happen as one. */
    private final Object changes = new Object();

    private TaskRegistry(TasksConfig config, AccessConfig access, TaskStore store, Set<String> routes, Clock clock,
                         Ticker ticker, TaskAudit audit, Supplier<PolicySet> policy) {
        this.maxActive = config.maxActive();
        this.access = new TaskAccess(access.orchestratorPatterns(), access.adminPatterns());
        this.checks = new GrantChecks(config.defaultTtl(), config.maxTtl(), config.maxDelegationDepth(), routes,
                policy);
        this.store = store;
        this.clock = clock;
        this.ticker = ticker;
        this.audit = audit;
        this.index = new TaskIndex(clock, ticker, Math.max(1024, config.maxActive() * 2L));
    }

    /**
     * Opens a registry over {@code store}, replaying what it loads.
     *
     * @param access who may start tasks for others ({@code orchestrators}) and see, end and revoke any task
     *               ({@code admins})
     * @param routes the route names grants may name
     * @param ticker Caffeine's time source; must move with {@code clock} (tests pass one that does)
     * @throws UncheckedIOException if the store's state cannot be loaded (its cause says why)
     */
    public static TaskRegistry open(TasksConfig config, AccessConfig access, TaskStore store, Set<String> routes,
                                    Clock clock, Ticker ticker, TaskAudit audit) {
        return open(config, access, store, routes, clock, ticker, audit, PolicySet::unrestricted);
    }

    /**
     * Opens a registry whose grants must also lie within the policy in force ({@code policy} is read on every start
     * and every call, so a reload narrows what may be granted and what live grants do at once).
     *
     * @throws UncheckedIOException if the store's state cannot be loaded (its cause says why)
     */
    public static TaskRegistry open(TasksConfig config, AccessConfig access, TaskStore store, Set<String> routes,
                                    Clock clock, Ticker ticker, TaskAudit audit, Supplier<PolicySet> policy) {
        TaskRegistry r = new TaskRegistry(requireNonNull(config, "config"), requireNonNull(access, "access"),
                requireNonNull(store, "store"),
                requireNonNull(routes, "routes"), requireNonNull(clock, "clock"), requireNonNull(ticker, "ticker"),
                requireNonNull(audit, "audit"), requireNonNull(policy, "policy"));
        TaskStore.Snapshot snapshot;
        try {
            snapshot = store.load();
        } catch (IOException e) {
            throw new UncheckedIOException("task store: could not load its state", e);
        }
        synchronized (r.changes) {
            for (TaskEvent e : snapshot.events()) {
                r.index.apply(e);
            }
            r.index.advanceTo(snapshot.revision());
        }
        if (!snapshot.events().isEmpty()) {
            log.info("restored {} tasks from {} stored events (revision {})", r.index.size(),
                    snapshot.events().size(), snapshot.revision());
        }
        store.follow(snapshot.revision(), r.new Follower());
        return r;
    }

    /** A registry on the system clock. */
    public static TaskRegistry open(TasksConfig config, AccessConfig access, TaskStore store, Set<String> routes,
                                    TaskAudit audit) {
        return open(config, access, store, routes, Clock.systemUTC(), Ticker.systemTicker(), audit);
    }

    /** Runs {@code listener} with every task that ends or is revoked (directly or through its parent). */
    public void onEnded(Consumer<Task> listener) {
        index.onEnded(requireNonNull(listener, "listener"));
    }

    // ---- hot path ----------------------------------------------------------------------------------------

    /** The task a token belongs to, in any state, or null for a malformed or unknown token. Never blocks. */
    public LiveTask find(CharSequence token) {
        TokenKey hash = TaskToken.key(token);
        return hash == null ? null : index.find(hash);
    }

    /**
     * The routes grants may name from now on (after a route reload). Live grants are left as they are: a grant on a
     * route that is gone matches no call (no call reaches a route that is not there), and works again if a route
     * of that name comes back.
     */
    public void updateRoutes(Set<String> routeNames) {
        checks.updateRoutes(routeNames);
    }

    /** The policy in force now. */
    public PolicySet policy() {
        return checks.policy();
    }

    /** The clock the registry judges expiry by. */
    public Clock clock() {
        return clock;
    }

    /**
     * Why no call may be decided now because the view of a shared task store is too old or incomplete (the reason
     * names the store), or null. Never blocks.
     */
    public String staleness() {
        return store.staleness();
    }

    /** Whether the task store takes changes now (readiness follows it). */
    public boolean storeHealthy() {
        return store.healthy();
    }

    /** Monotonic nanoseconds from the registry's ticker, for rate limits (moved by hand in tests). */
    public long nanoTime() {
        return ticker.read();
    }

    // ---- lifecycle ---------------------------------------------------------------------------------------

    /** A started task and its token (the only time the token exists outside the agent). */
    public record Started(LiveTask task, String token) {}

    /**
     * Starts a task for {@code req.agent()} (the caller itself when null; another agent only for an orchestrator).
     *
     * @throws TaskException if refused or if it could not be recorded or audited (then nothing was started)
     */
    public Started start(SpiffeId caller, StartRequest req) throws TaskException {
        requireNonNull(caller, "caller");
        SpiffeId subject = req.agent() == null ? caller : req.agent();
        if (!access.mayStartFor(caller, subject)) {
            throw new TaskException(TaskException.Kind.PERMISSION_DENIED, caller.uri()
                    + " may start tasks only for itself (orchestrators are listed in access.orchestrators)");
        }
        Instant now = clock.instant();
        Instant expires = checks.startExpiry(now, req.ttl());
        List<Grant> grants = checks.grants(subject, req.grants(), now, expires, null);
        return begin(new Draft(subject, caller, GrantChecks.purpose(req.purpose()), null, 0, grants, now, expires));
    }

    /**
     * Delegates part of the task of {@code parentToken} to {@code req.agent()}: every grant must lie within a live
     * grant of the parent (same route, operations within, budget not above what is left, expiry not later), and the
     * child does not outlive the parent. Only the parent's subject may delegate.
     */
    public Started delegate(SpiffeId caller, CharSequence parentToken, StartRequest req) throws TaskException {
        requireNonNull(caller, "caller");
        LiveTask parent = find(parentToken);
        if (parent == null) {
            throw new TaskException(TaskException.Kind.NOT_FOUND, "unknown parent task token");
        }
        Task p = parent.task();
        if (!p.subject().equals(caller)) {
            throw new TaskException(TaskException.Kind.PERMISSION_DENIED,
                    "the parent task belongs to another identity; only its subject may delegate it");
        }
        TaskState state = parent.state(clock.millis());
        if (state != TaskState.ACTIVE) {
            throw new TaskException(TaskException.Kind.FAILED_PRECONDITION, "parent task " + p.id() + " is "
                    + state.json());
        }
        if (req.agent() == null) {
            throw GrantChecks.invalid("agent: missing (expected: the SPIFFE ID of the agent the task is delegated"
                    + " to)");
        }
        Instant now = clock.instant();
        Instant expires = checks.delegateExpiry(now, req.ttl(), p);
        List<Grant> grants = checks.grants(req.agent(), req.grants(), now, expires, parent);
        return begin(new Draft(req.agent(), caller, GrantChecks.purpose(req.purpose()), parent, p.depth() + 1, grants,
                now, expires));
    }

    private record Draft(SpiffeId subject, SpiffeId startedBy, String purpose, LiveTask parent, int depth,
                         List<Grant> grants, Instant now, Instant expires) {}

    private Started begin(Draft d) throws TaskException {
        String token = TaskToken.mint();
        Task task = new Task("t-" + randomHex(12), d.subject(), d.startedBy(), d.purpose(),
                d.parent() == null ? null : d.parent().task().id(), d.depth(), d.grants(), d.now(), d.expires(),
                TaskToken.hash(token));
        TaskEvent.Started event = new TaskEvent.Started(d.now(), task);
        synchronized (changes) {
            index.sweep(d.now());
            if (index.size() >= maxActive) {
                throw new TaskException(TaskException.Kind.RESOURCE_EXHAUSTED, "the sidecar holds "
                        + index.size() + " tasks, its maximum (tasks.maxActive); end finished tasks first");
            }
            if (d.parent() != null && d.parent().storedState() != TaskState.ACTIVE) {
                throw new TaskException(TaskException.Kind.FAILED_PRECONDITION, "parent task "
                        + d.parent().task().id() + " ended while delegating");
            }
            if (!audit.record(event, task)) {
                throw new TaskException(TaskException.Kind.UNAVAILABLE,
                        "the task start could not be audited in time; nothing was started (ERROR_FAIL_CLOSED)");
            }
            try {
                index.advanceTo(store.append(event));
            } catch (IOException e) {
                log.error("task store: could not record the start of {}", task.id(), e);
                throw new TaskException(TaskException.Kind.UNAVAILABLE,
                        "the task could not be recorded; nothing was started", e);
            }
            return new Started(index.apply(event), token);
        }
    }

    /** Ends a task normally; tasks delegated from it are revoked with it. */
    public LiveTask end(SpiffeId caller, String taskId, String reason) throws TaskException {
        return finish(caller, taskId, TaskState.ENDED, reason);
    }

    /** Revokes a task by force; tasks delegated from it are revoked with it. */
    public LiveTask revoke(SpiffeId caller, String taskId, String reason) throws TaskException {
        return finish(caller, taskId, TaskState.REVOKED, reason);
    }

    private LiveTask finish(SpiffeId caller, String taskId, TaskState end, String reason) throws TaskException {
        LiveTask t = authorizedTask(caller, taskId);
        TaskEvent.Ended event = new TaskEvent.Ended(clock.instant(), taskId, end, caller.uri(),
                GrantChecks.reason(reason));
        synchronized (changes) {
            if (t.storedState() != TaskState.ACTIVE) {
                throw new TaskException(TaskException.Kind.FAILED_PRECONDITION, "task " + taskId + " is already "
                        + t.storedState().json());
            }
            // Memory first: the task stops working now, whatever the store says next.
            applyThenRecord(event, "task " + taskId + " is " + end.json());
        }
        if (!audit.record(event, t.task())) {
            log.error("audit trail did not accept that task {} {}", taskId, end.json());
        }
        return t;
    }

    /** Revokes one grant of a task (and what tasks delegated from it hold under that grant). */
    public LiveTask revokeGrant(SpiffeId caller, String taskId, String grantId, String reason) throws TaskException {
        LiveTask t = authorizedTask(caller, taskId);
        if (t.grant(grantId) == null) {
            throw new TaskException(TaskException.Kind.NOT_FOUND, "task " + taskId + " has no grant " + grantId);
        }
        TaskEvent.GrantRevoked event = new TaskEvent.GrantRevoked(clock.instant(), taskId, grantId, caller.uri(),
                GrantChecks.reason(reason));
        synchronized (changes) {
            applyThenRecord(event, "grant " + grantId + " is revoked");
        }
        if (!audit.record(event, t.task())) {
            log.error("audit trail did not accept the revocation of {} {}", taskId, grantId);
        }
        return t;
    }

    /** An end or revocation takes effect here whatever the store answers (refusing it would fail open). */
    private void applyThenRecord(TaskEvent event, String what) throws TaskException {
        index.apply(event);
        try {
            index.advanceTo(store.append(event));
        } catch (IOException e) {
            log.error("task store: could not record that {}", what, e);
            throw new TaskException(TaskException.Kind.UNAVAILABLE, what + " in this sidecar, but the task store"
                    + " could not record it (a restart would restore it)", e);
        }
    }

    /** The task with this id, if the caller may see it (its subject, who started it, an ancestor's subject, an admin). */
    public LiveTask get(SpiffeId caller, String taskId) throws TaskException {
        return authorizedTask(caller, taskId);
    }

    /**
     * Tasks held now, newest first, optionally only those of {@code agent} and in {@code state}; callers that are
     * not admins see only tasks they may see.
     */
    public List<LiveTask> list(SpiffeId caller, SpiffeId agent, TaskState state) {
        long now = clock.millis();
        List<LiveTask> out = new ArrayList<>();
        for (LiveTask t : index.tasks()) {
            if ((agent == null || t.task().subject().equals(agent)) && (state == null || t.state(now) == state)
                    && access.mayManage(caller, t, index::get)) {
                out.add(t);
            }
        }
        out.sort(Comparator.comparing((LiveTask t) -> t.task().createdAt()).reversed());
        return out;
    }

    private LiveTask authorizedTask(SpiffeId caller, String taskId) throws TaskException {
        requireNonNull(caller, "caller");
        LiveTask t = index.get(taskId);
        // Same answer for a task the caller may not see as for a missing one: an outsider learns nothing.
        if (t == null || !access.mayManage(caller, t, index::get)) {
            throw new TaskException(TaskException.Kind.NOT_FOUND, "no task " + taskId);
        }
        return t;
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    @Override
    public void close() throws IOException {
        store.close();
    }

    /** Applies what other writers of a shared store record; a lost feed is logged (the store reports unhealthy). */
    private final class Follower implements TaskStore.Listener {
        @Override
        public void changed(long revision, TaskEvent event) {
            // No revision filter: a shared store delivers each other writer's event once, and may deliver one
            // numbered below an append of this registry that overtook it on the way (a start here, committed just
            // after another sidecar's revocation, returns before the watch brings that revocation).
            synchronized (changes) {
                index.apply(event);
                index.advanceTo(revision);
            }
        }

        @Override
        public void lost(IOException why) {
            log.error("task store: lost the feed of other writers' changes after revision {}", index.revision(),
                    why);
        }
    }
}
