package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpiffeIdPattern;
import dev.toolgate.policy.Condition;
import dev.toolgate.policy.OpPattern;
import dev.toolgate.policy.PolicySet;
import dev.toolgate.policy.Verdict;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tasks of one sidecar: start, delegate, end, revoke, and the lookup every call makes.
 *
 * <p>State changes are recorded in the {@link GrantStore} and applied to the in-memory tasks before the method
 * returns, so a call that starts after {@link #end} returned is denied. The lookup goes through a Caffeine cache
 * keyed by token hash whose entries expire with their task; it takes no lock and does not block.
 *
 * <p>What may be granted: grants must name configured routes (those of {@link #updateRoutes} once routes were
 * reloaded), carry well-formed operations and conditions that
 * compile, stay within the configured lifetimes, and lie within the policy in force ({@link PolicySet#checkGrant}).
 * Thread-safe.
 */
public final class TaskRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TaskRegistry.class);
    private static final int MAX_GRANTS = 64;
    private static final int MAX_OPERATIONS = 64;
    private static final int MAX_PURPOSE_CHARS = 1024;
    /** How long an ended or expired task is remembered (so its token is answered with why, not "unknown"). */
    private static final Duration RETAIN = Duration.ofMinutes(10);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final TasksConfig config;
    private final List<SpiffeIdPattern> orchestrators;
    private final List<SpiffeIdPattern> admins;
    private final GrantStore store;
    /** The route names grants may name now; replaced whole when the routes are reloaded. */
    private volatile Set<String> routes;
    private final Clock clock;
    private final TaskAudit audit;
    private final ConcurrentHashMap<String, LiveTask> byId = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<TokenKey, LiveTask> byHash = new ConcurrentHashMap<>();
    private final Cache<TokenKey, LiveTask> cache;
    private final List<Consumer<Task>> endListeners = new CopyOnWriteArrayList<>();
    private final Object changes = new Object();
    private final Supplier<PolicySet> policy;
    private final Ticker ticker;

    private TaskRegistry(TasksConfig config, AccessConfig access, GrantStore store, Set<String> routes, Clock clock,
                         Ticker ticker, TaskAudit audit, Supplier<PolicySet> policy) {
        this.policy = policy;
        this.config = config;
        this.orchestrators = access.orchestratorPatterns();
        this.admins = access.adminPatterns();
        this.store = store;
        this.routes = Set.copyOf(routes);
        this.clock = clock;
        this.ticker = ticker;
        this.audit = audit;
        this.cache = Caffeine.newBuilder()
                // Maintenance on the calling thread: handing it to the common pool every few reads woke threads
                // and put tens of microseconds on the decision's tail (bench/RESULTS.md, the authorizer JMH).
                .executor(Runnable::run)
                .ticker(ticker)
                .maximumSize(Math.max(1024, config.maxActive() * 2L))
                .expireAfter(new UntilTaskExpiry(clock))
                .build();
    }

    /**
     * Opens a registry over {@code store}, replaying what it recovered.
     *
     * @param access who may start tasks for others ({@code orchestrators}) and see, end and revoke any task
     *               ({@code admins})
     * @param routes the route names grants may name
     * @param ticker Caffeine's time source; must move with {@code clock} (tests pass one that does)
     */
    public static TaskRegistry open(TasksConfig config, AccessConfig access, GrantStore store, Set<String> routes,
                                    Clock clock, Ticker ticker, TaskAudit audit) {
        return open(config, access, store, routes, clock, ticker, audit, PolicySet::unrestricted);
    }

    /**
     * Opens a registry whose grants must also lie within the policy in force ({@code policy} is read on every start
     * and every call, so a reload narrows what may be granted and what live grants do at once).
     */
    public static TaskRegistry open(TasksConfig config, AccessConfig access, GrantStore store, Set<String> routes,
                                    Clock clock, Ticker ticker, TaskAudit audit, Supplier<PolicySet> policy) {
        TaskRegistry r = new TaskRegistry(requireNonNull(config, "config"), requireNonNull(access, "access"),
                requireNonNull(store, "store"),
                requireNonNull(routes, "routes"), requireNonNull(clock, "clock"), requireNonNull(ticker, "ticker"),
                requireNonNull(audit, "audit"), requireNonNull(policy, "policy"));
        for (TaskEvent e : store.recovered()) {
            r.apply(e);
        }
        if (!store.recovered().isEmpty()) {
            log.info("restored {} tasks from {} journal events", r.byId.size(), store.recovered().size());
        }
        return r;
    }

    /** A registry on the system clock. */
    public static TaskRegistry open(TasksConfig config, AccessConfig access, GrantStore store, Set<String> routes,
                                    TaskAudit audit) {
        return open(config, access, store, routes, Clock.systemUTC(), Ticker.systemTicker(), audit);
    }

    /** Runs {@code listener} with every task that ends or is revoked (directly or through its parent). */
    public void onEnded(Consumer<Task> listener) {
        endListeners.add(requireNonNull(listener, "listener"));
    }

    // ---- hot path ----------------------------------------------------------------------------------------

    /**
     * The task a token belongs to, in any state, or null for a malformed or unknown token. Never blocks.
     */
    public LiveTask find(CharSequence token) {
        TokenKey hash = TaskToken.key(token);
        if (hash == null) {
            return null;
        }
        LiveTask t = cache.getIfPresent(hash);
        if (t == null) {
            t = byHash.get(hash);
            if (t != null) {
                cache.put(hash, t);
            }
        }
        return t;
    }

    /**
     * The routes grants may name from now on (after a route reload). Live grants are left as they are: a grant on a
     * route that is gone matches no call (no call reaches a route that is not there), and works again if a route
     * of that name comes back.
     */
    public void updateRoutes(Set<String> routeNames) {
        routes = Set.copyOf(requireNonNull(routeNames, "routeNames"));
    }

    /** The policy in force now. */
    public PolicySet policy() {
        return policy.get();
    }

    /** The clock the registry judges expiry by. */
    public Clock clock() {
        return clock;
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
        if (!subject.equals(caller) && !matchesAny(orchestrators, caller)) {
            throw new TaskException(TaskException.Kind.PERMISSION_DENIED, caller.uri()
                    + " may start tasks only for itself (orchestrators are listed in access.orchestrators)");
        }
        Instant now = clock.instant();
        Duration ttl = req.ttl() == null ? config.defaultTtl() : req.ttl();
        if (ttl.isNegative() || ttl.isZero()) {
            throw invalid("ttl: " + ttl + " (expected: > 0)");
        }
        if (ttl.compareTo(config.maxTtl()) > 0) {
            throw invalid("ttl: " + human(ttl) + " is longer than the maximum task lifetime " + human(config.maxTtl()));
        }
        Instant expires = now.plus(ttl);
        List<Grant> grants = grants(subject, req.grants(), now, expires, null);
        return begin(new Draft(subject, caller, purpose(req.purpose()), null, 0, grants, now, expires));
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
        long nowMillis = clock.millis();
        TaskState state = parent.state(nowMillis);
        if (state != TaskState.ACTIVE) {
            throw new TaskException(TaskException.Kind.FAILED_PRECONDITION, "parent task " + p.id() + " is "
                    + state.json());
        }
        if (req.agent() == null) {
            throw invalid("agent: missing (expected: the SPIFFE ID of the agent the task is delegated to)");
        }
        if (p.depth() + 1 > config.maxDelegationDepth()) {
            throw invalid("delegation depth " + (p.depth() + 1) + " exceeds the maximum "
                    + config.maxDelegationDepth());
        }
        Instant now = clock.instant();
        Instant expires;
        if (req.ttl() == null) {
            Instant wanted = now.plus(config.defaultTtl());
            expires = wanted.isAfter(p.expiresAt()) ? p.expiresAt() : wanted;
        } else {
            if (req.ttl().isNegative() || req.ttl().isZero()) {
                throw invalid("ttl: " + req.ttl() + " (expected: > 0)");
            }
            expires = now.plus(req.ttl());
            if (expires.isAfter(p.expiresAt())) {
                throw invalid("ttl: " + human(req.ttl()) + " outlives the parent task, which expires in "
                        + human(Duration.between(now, p.expiresAt())));
            }
        }
        List<Grant> grants = grants(req.agent(), req.grants(), now, expires, parent);
        return begin(new Draft(req.agent(), caller, purpose(req.purpose()), parent, p.depth() + 1, grants, now,
                expires));
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
            sweep(d.now());
            if (byId.size() >= config.maxActive()) {
                throw new TaskException(TaskException.Kind.RESOURCE_EXHAUSTED, "the sidecar holds "
                        + byId.size() + " tasks, its maximum (tasks.maxActive); end finished tasks first");
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
                store.append(event);
            } catch (IOException e) {
                log.error("task journal: could not record the start of {}", task.id(), e);
                throw new TaskException(TaskException.Kind.UNAVAILABLE,
                        "the task could not be recorded; nothing was started", e);
            }
            LiveTask live = apply(event);
            return new Started(live, token);
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
        TaskEvent.Ended event = new TaskEvent.Ended(clock.instant(), taskId, end, caller.uri(), reason(reason));
        synchronized (changes) {
            if (t.storedState() != TaskState.ACTIVE) {
                throw new TaskException(TaskException.Kind.FAILED_PRECONDITION, "task " + taskId + " is already "
                        + t.storedState().json());
            }
            // Memory first: the task stops working now, whatever the journal says next.
            apply(event);
            try {
                store.append(event);
            } catch (IOException e) {
                log.error("task journal: could not record that {} {}", taskId, end.json(), e);
                throw new TaskException(TaskException.Kind.UNAVAILABLE, "task " + taskId + " is " + end.json()
                        + " in this sidecar, but the journal could not record it (a restart would restore it)", e);
            }
        }
        if (!audit.record(event, t.task())) {
            log.error("audit trail did not accept that task {} {}", taskId, end.json());
        }
        return t;
    }

    /** Revokes one grant of a task (and what tasks delegated from it hold under that grant). */
    public LiveTask revokeGrant(SpiffeId caller, String taskId, String grantId, String reason) throws TaskException {
        LiveTask t = authorizedTask(caller, taskId);
        LiveGrant g = t.grant(grantId);
        if (g == null) {
            throw new TaskException(TaskException.Kind.NOT_FOUND, "task " + taskId + " has no grant " + grantId);
        }
        TaskEvent.GrantRevoked event = new TaskEvent.GrantRevoked(clock.instant(), taskId, grantId, caller.uri(),
                reason(reason));
        synchronized (changes) {
            apply(event);
            try {
                store.append(event);
            } catch (IOException e) {
                log.error("task journal: could not record the revocation of {} {}", taskId, grantId, e);
                throw new TaskException(TaskException.Kind.UNAVAILABLE, "grant " + grantId + " is revoked in this"
                        + " sidecar, but the journal could not record it (a restart would restore it)", e);
            }
        }
        if (!audit.record(event, t.task())) {
            log.error("audit trail did not accept the revocation of {} {}", taskId, grantId);
        }
        return t;
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
        for (LiveTask t : byId.values()) {
            if ((agent == null || t.task().subject().equals(agent)) && (state == null || t.state(now) == state)
                    && mayManage(caller, t)) {
                out.add(t);
            }
        }
        out.sort(Comparator.comparing((LiveTask t) -> t.task().createdAt()).reversed());
        return out;
    }

    private LiveTask authorizedTask(SpiffeId caller, String taskId) throws TaskException {
        requireNonNull(caller, "caller");
        LiveTask t = taskId == null ? null : byId.get(taskId);
        if (t == null) {
            throw new TaskException(TaskException.Kind.NOT_FOUND, "no task " + taskId);
        }
        if (!mayManage(caller, t)) {
            // Same answer as for a missing task: an outsider learns nothing about others' tasks.
            throw new TaskException(TaskException.Kind.NOT_FOUND, "no task " + taskId);
        }
        return t;
    }

    private boolean mayManage(SpiffeId caller, LiveTask t) {
        if (matchesAny(admins, caller)) {
            return true;
        }
        for (LiveTask cur = t; cur != null; cur = cur.task().parentId() == null ? null
                : byId.get(cur.task().parentId())) {
            if (cur.task().subject().equals(caller) || cur.task().startedBy().equals(caller)) {
                return true;
            }
        }
        return false;
    }

    // ---- applying events (replay and live) ---------------------------------------------------------------

    private LiveTask apply(TaskEvent event) {
        if (event instanceof TaskEvent.Started s) {
            LiveTask live = new LiveTask(s.task());
            byId.put(s.task().id(), live);
            byHash.put(TokenKey.ofHex(s.task().tokenHash()), live);
            if (s.task().parentId() != null) {
                LiveTask parent = byId.get(s.task().parentId());
                if (parent != null) {
                    parent.children().add(live);
                    if (parent.storedState() != TaskState.ACTIVE) {
                        live.finish(TaskState.REVOKED);
                    }
                }
            }
            return live;
        }
        if (event instanceof TaskEvent.Ended e) {
            LiveTask t = byId.get(e.taskId());
            if (t != null) {
                finishTree(t, e.state());
            }
            return t;
        }
        TaskEvent.GrantRevoked g = (TaskEvent.GrantRevoked) event;
        LiveTask t = byId.get(g.taskId());
        if (t != null) {
            LiveGrant lg = t.grant(g.grantId());
            if (lg != null) {
                revokeTree(t, lg);
            }
        }
        return t;
    }

    private void finishTree(LiveTask t, TaskState state) {
        if (t.finish(state)) {
            cache.invalidate(TokenKey.ofHex(t.task().tokenHash()));
            for (Consumer<Task> l : endListeners) {
                l.accept(t.task());
            }
        }
        for (LiveTask child : t.children()) {
            finishTree(child, TaskState.REVOKED);
        }
    }

    /** Revokes {@code g} and every grant of a descendant that only {@code g} covered. */
    private void revokeTree(LiveTask owner, LiveGrant g) {
        g.revoke();
        for (LiveTask child : owner.children()) {
            for (Grant cg : child.task().grants()) {
                LiveGrant live = child.grant(cg.id());
                if (!live.revoked() && Delegation.within(cg, g.grant()) && !coveredByOther(owner, cg)) {
                    revokeTree(child, live);
                }
            }
        }
    }

    private static boolean coveredByOther(LiveTask owner, Grant childGrant) {
        for (LiveGrant pg : owner.grantsFor(childGrant.route())) {
            if (!pg.revoked() && Delegation.within(childGrant, pg.grant())) {
                return true;
            }
        }
        return false;
    }

    /** Forgets tasks that expired more than {@link #RETAIN} ago. Called with {@link #changes} held. */
    private void sweep(Instant now) {
        Instant before = now.minus(RETAIN);
        byId.values().removeIf(t -> {
            if (t.task().expiresAt().isBefore(before)) {
                TokenKey key = TokenKey.ofHex(t.task().tokenHash());
                byHash.remove(key);
                cache.invalidate(key);
                if (t.storedState() == TaskState.ACTIVE) {
                    for (Consumer<Task> l : endListeners) {
                        l.accept(t.task());
                    }
                }
                return true;
            }
            return false;
        });
    }

    // ---- validation --------------------------------------------------------------------------------------

    private List<Grant> grants(SpiffeId subject, List<GrantRequest> requested, Instant now, Instant taskExpiry,
                               LiveTask parent) throws TaskException {
        PolicySet rules = policy.get();
        Set<String> known = routes; // one route set for the whole request, even if the routes are reloaded meanwhile
        if (requested.isEmpty()) {
            throw invalid("grants: none (expected: at least one grant)");
        }
        if (requested.size() > MAX_GRANTS) {
            throw invalid("grants: " + requested.size() + " (expected: at most " + MAX_GRANTS + ")");
        }
        List<Grant> out = new ArrayList<>(requested.size());
        for (int i = 0; i < requested.size(); i++) {
            GrantRequest r = requested.get(i);
            String where = "grants[" + i + "]";
            if (r.route() == null || !known.contains(r.route())) {
                throw invalid(where + ".route: " + quote(r.route()) + " (expected: one of the sidecar's routes "
                        + known.stream().sorted().toList() + ")");
            }
            if (r.operations().isEmpty() || r.operations().size() > MAX_OPERATIONS) {
                throw invalid(where + ".operations: " + r.operations().size() + " (expected: 1 to "
                        + MAX_OPERATIONS + ")");
            }
            List<OpPattern> ops = new ArrayList<>();
            for (String op : r.operations()) {
                try {
                    ops.add(OpPattern.parse(op));
                } catch (IllegalArgumentException e) {
                    throw invalid(where + ": " + e.getMessage());
                }
            }
            if (r.condition() != null) {
                try {
                    Condition.compile(r.condition());
                } catch (IllegalArgumentException e) {
                    throw invalid(where + ".when: " + e.getMessage());
                }
            }
            if (r.budget() != null && r.budget() < 1) {
                throw invalid(where + ".budget: " + r.budget() + " (expected: >= 1)");
            }
            Instant expires = taskExpiry;
            if (r.ttl() != null) {
                if (r.ttl().isNegative() || r.ttl().isZero()) {
                    throw invalid(where + ".ttl: " + r.ttl() + " (expected: > 0)");
                }
                expires = now.plus(r.ttl());
                if (expires.isAfter(taskExpiry)) {
                    throw invalid(where + ".ttl: " + human(r.ttl()) + " outlives its task ("
                            + human(Duration.between(now, taskExpiry)) + ")");
                }
            }
            Verdict v = rules.checkGrant(subject, r.route(), r.operations(), Duration.between(now, expires),
                    r.budget());
            if (!v.forwards()) {
                throw new TaskException(TaskException.Kind.INVALID_ARGUMENT, where + ": outside policy: " + v.reason()
                        + (v.rule() == null ? "" : " (" + v.rule() + ")"));
            }
            Grant g = new Grant("g" + (i + 1), r.route(), ops, r.condition(), r.budget(), expires);
            if (parent != null) {
                g = Delegation.checkWithin(where, g, r.ttl() != null, parent, now.toEpochMilli());
            }
            out.add(g);
        }
        return out;
    }

    private static String purpose(String purpose) throws TaskException {
        if (purpose == null || purpose.isBlank()) {
            throw invalid("purpose: missing (expected: what the task is for, in words; it is audited with every"
                    + " call)");
        }
        if (purpose.length() > MAX_PURPOSE_CHARS) {
            throw invalid("purpose: " + purpose.length() + " characters (expected: at most " + MAX_PURPOSE_CHARS
                    + ")");
        }
        if (purpose.chars().anyMatch(Character::isISOControl)) {
            throw invalid("purpose: contains control characters (expected: one line of text)");
        }
        return purpose;
    }

    private static String reason(String reason) {
        if (reason == null) {
            return "";
        }
        String oneLine = reason.replaceAll("\\p{Cntrl}", " ");
        return oneLine.length() > MAX_PURPOSE_CHARS ? oneLine.substring(0, MAX_PURPOSE_CHARS) : oneLine;
    }

    static TaskException invalid(String message) {
        return new TaskException(TaskException.Kind.INVALID_ARGUMENT, message);
    }

    private static boolean matchesAny(List<SpiffeIdPattern> patterns, SpiffeId id) {
        for (SpiffeIdPattern p : patterns) {
            if (p.matches(id)) {
                return true;
            }
        }
        return false;
    }

    static String human(Duration d) {
        return d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
    }

    private static String quote(String s) {
        return s == null ? "null" : '"' + s + '"';
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

    /** Cache entries live until their task's expiry (an ended task is invalidated at once). */
    private static final class UntilTaskExpiry implements Expiry<TokenKey, LiveTask> {
        private final Clock clock;

        UntilTaskExpiry(Clock clock) {
            this.clock = clock;
        }

        @Override
        public long expireAfterCreate(TokenKey key, LiveTask value, long currentTime) {
            long ms = value.task().expiresAt().toEpochMilli() - clock.millis();
            return TimeUnit.MILLISECONDS.toNanos(Math.max(0, ms));
        }

        @Override
        public long expireAfterUpdate(TokenKey key, LiveTask value, long currentTime, long currentDuration) {
            return expireAfterCreate(key, value, currentTime);
        }

        @Override
        public long expireAfterRead(TokenKey key, LiveTask value, long currentTime, long currentDuration) {
            return currentDuration;
        }
    }
}
