package dev.toolgate.grant;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The tasks a registry holds, by task id and by token hash, built by applying {@link TaskEvent}s (replayed from the
 * store at open, then each change as it is made). The lookup every call makes goes through a Caffeine cache keyed
 * by token hash whose entries expire with their task.
 *
 * <p>Thread-safety: reads ({@link #find}, {@link #get}, {@link #tasks}) take no lock and never block. Changes
 * ({@link #apply}, {@link #sweep}) must come from one thread at a time: the registry makes them under its own lock,
 * which also covers the store append that goes with each change. A change is visible to a read that starts after
 * it returned (the task's state is a volatile field; an ended task's cache entry is invalidated before return).
 */
final class TaskIndex {
    /** How long an ended or expired task is remembered (so its token is answered with why, not "unknown"). */
    static final Duration RETAIN = TaskStore.RETAIN;

    private final ConcurrentHashMap<String, LiveTask> byId = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<TokenKey, LiveTask> byHash = new ConcurrentHashMap<>();
    private final Cache<TokenKey, LiveTask> cache;
    private final List<Consumer<Task>> endListeners = new CopyOnWriteArrayList<>();
    /** The store revision the index reflects; written under the registry's lock. */
    private volatile long revision;

    TaskIndex(Clock clock, Ticker ticker, long maximumSize) {
        this.cache = Caffeine.newBuilder()
                // Maintenance on the calling thread: handing it to the common pool every few reads woke threads
                // and put tens of microseconds on the decision's tail (bench/RESULTS.md, the authorizer JMH).
                .executor(Runnable::run)
                .ticker(ticker)
                .maximumSize(maximumSize)
                .expireAfter(new UntilTaskExpiry(clock))
                .build();
    }

    /** Runs {@code listener} with every task that ends or is revoked (directly or through its parent). */
    void onEnded(Consumer<Task> listener) {
        endListeners.add(listener);
    }

    /** The task whose token has this hash, in any state, or null. Never blocks. */
    LiveTask find(TokenKey hash) {
        LiveTask t = cache.getIfPresent(hash);
        if (t == null) {
            t = byHash.get(hash);
            if (t != null) {
                cache.put(hash, t);
            }
        }
        return t;
    }

    /** The task with this id, or null. */
    LiveTask get(String taskId) {
        return taskId == null ? null : byId.get(taskId);
    }

    /** The tasks held now (a live view; iteration is weakly consistent). */
    Collection<LiveTask> tasks() {
        return Collections.unmodifiableCollection(byId.values());
    }

    int size() {
        return byId.size();
    }

    /** The store revision of the last event applied (0 before any). */
    long revision() {
        return revision;
    }

    /** Notes that the events up to store revision {@code rev} are applied. */
    void advanceTo(long rev) {
        if (rev > revision) {
            revision = rev;
        }
    }

    /**
     * Applies {@code event} and returns the task it concerns (null if unknown). Ending a task ends its descendants;
     * revoking a grant revokes what descendants hold only under it. Applying an end or revocation twice changes
     * nothing the second time.
     */
    LiveTask apply(TaskEvent event) {
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

    /** Forgets tasks that expired more than {@link #RETAIN} before {@code now}; their tokens become unknown. */
    void sweep(Instant now) {
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
