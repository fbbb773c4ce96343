package dev.toolgate.grant;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import dev.toolgate.policy.RateSpec;
import dev.toolgate.policy.TokenBucket;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A task as the hot path sees it: the immutable {@link Task}, its grants grouped by route, its state and its
 * delegated children. What the registry changes (state, revoked grants) is published through volatile fields, so
 * a call that starts after {@code end} returned sees the task ended. Thread-safe.
 */
public final class LiveTask {
    private static final LiveGrant[] NONE = new LiveGrant[0];

    private final Task task;
    private final long expiresAtMillis;
    private final Map<String, LiveGrant[]> byRoute;
    private final Map<String, LiveGrant> byId;
    private final List<LiveTask> children = new CopyOnWriteArrayList<>();
    private final Set<String> labels = ConcurrentHashMap.newKeySet();
    private final AtomicLong calls = new AtomicLong();
    private final Map<String, TokenBucket> rates = new ConcurrentHashMap<>();
    private volatile TaskState state = TaskState.ACTIVE;

    LiveTask(Task task) {
        this.task = task;
        this.expiresAtMillis = task.expiresAt().toEpochMilli();
        Map<String, List<LiveGrant>> routes = new HashMap<>();
        Map<String, LiveGrant> ids = new HashMap<>();
        for (Grant g : task.grants()) {
            LiveGrant live = new LiveGrant(g);
            routes.computeIfAbsent(g.route(), r -> new ArrayList<>()).add(live);
            ids.put(g.id(), live);
        }
        Map<String, LiveGrant[]> arrays = new HashMap<>();
        routes.forEach((r, list) -> arrays.put(r, list.toArray(NONE)));
        this.byRoute = Map.copyOf(arrays);
        this.byId = Map.copyOf(ids);
    }

    public Task task() {
        return task;
    }

    /** The state at {@code nowMillis}: the stored state, or {@link TaskState#EXPIRED} for an active task past expiry. */
    public TaskState state(long nowMillis) {
        TaskState s = state;
        return s == TaskState.ACTIVE && nowMillis >= expiresAtMillis ? TaskState.EXPIRED : s;
    }

    /** The grants on {@code route} (an empty array when none); the array must not be modified. */
    public LiveGrant[] grantsFor(String route) {
        LiveGrant[] g = byRoute.get(route);
        return g == null ? NONE : g;
    }

    /** The grant with this id, or null. */
    /** Whether a live grant of this task on {@code route} matches {@code operation} (conditions not evaluated). */
    public boolean holds(String route, String operation, long nowMillis) {
        for (LiveGrant g : grantsFor(route)) {
            if (!g.revoked() && !g.expired(nowMillis) && g.grant().matches(operation)) {
                return true;
            }
        }
        return false;
    }

    public LiveGrant grant(String grantId) {
        return byId.get(grantId);
    }

    /** The labels of the routes this task has been allowed to call so far (what flow rules look at). */
    public Set<String> labels() {
        return Collections.unmodifiableSet(labels);
    }

    /** Calls allowed so far. */
    public long calls() {
        return calls.get();
    }

    /** Records an allowed call on a route with {@code routeLabels}. */
    public void touched(Set<String> routeLabels) {
        calls.incrementAndGet();
        if (!labels.containsAll(routeLabels)) {
            labels.addAll(routeLabels);
        }
    }

    /** The task's rate limiter for a policy rule (one bucket per rule, made on first use). */
    public TokenBucket rate(String rule, RateSpec spec, LongSupplier nanos) {
        return rates.computeIfAbsent(rule, r -> spec.newBucket(nanos));
    }

    List<LiveTask> children() {
        return children;
    }

    /** Sets a final state; false if it was already ended or revoked. */
    boolean finish(TaskState end) {
        synchronized (this) {
            if (state != TaskState.ACTIVE) {
                return false;
            }
            state = end;
            return true;
        }
    }

    /** The stored state, without expiry applied. */
    TaskState storedState() {
        return state;
    }
}
