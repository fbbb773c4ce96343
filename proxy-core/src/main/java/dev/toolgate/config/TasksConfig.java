package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Tasks and their grants.
 *
 * @param journal            append-only file task state is kept in (survives restarts), with {@code store:
 *                           journal}; null keeps tasks in memory only (a restart ends every task)
 * @param fsync              {@code always} (the default: a start, end or revoke returns only once it is on disk)
 *                           or {@code never} (the OS writes it when it likes; a power loss may forget the last ones)
 * @param defaultTtl         lifetime of a task that asks for none
 * @param maxTtl             no task lives longer
 * @param maxDelegationDepth how many times a task may be delegated onwards (a task started directly is depth 0)
 * @param maxActive          live tasks the sidecar holds at most; more starts are refused
 * @param store              where task state is kept: {@code journal} (the file {@code journal} names),
 *                           {@code memory} (nothing kept) or {@code etcd} (shared by a fleet of sidecars: the
 *                           {@code etcd} section); absent: {@code journal} when a journal is named, else
 *                           {@code memory}
 *
 * <p>Who may start tasks for others or see, end and revoke any task is {@link AccessConfig}.
 */
public record TasksConfig(Path journal, String fsync, Duration defaultTtl, Duration maxTtl,
                          Integer maxDelegationDepth, Integer maxActive, String store) {
    public static final String JOURNAL = "journal";
    public static final String MEMORY = "memory";
    public static final String ETCD = "etcd";

    public TasksConfig {
        store = store != null ? store : journal != null ? JOURNAL : MEMORY;
        switch (store) {
            case JOURNAL -> {
                if (journal == null) {
                    throw new IllegalArgumentException("journal: missing (expected: the journal file, with store:"
                            + " journal)");
                }
            }
            case MEMORY, ETCD -> {
                if (journal != null) {
                    throw new IllegalArgumentException("journal: " + journal + " is set, but store is " + store
                            + " (expected: no journal, or store: journal)");
                }
            }
            default -> throw new IllegalArgumentException("store: \"" + store
                    + "\" (expected: journal, memory or etcd)");
        }
        fsync = requireNonNullElse(fsync, "always");
        if (!fsync.equals("always") && !fsync.equals("never")) {
            throw new IllegalArgumentException("fsync: \"" + fsync + "\" (expected: always or never)");
        }
        defaultTtl = requireNonNullElse(defaultTtl, Duration.ofMinutes(15));
        maxTtl = requireNonNullElse(maxTtl, Duration.ofHours(1));
        if (maxTtl.isNegative() || maxTtl.isZero()) {
            throw new IllegalArgumentException("maxTtl: " + maxTtl + " (expected: > 0)");
        }
        if (defaultTtl.isNegative() || defaultTtl.isZero() || defaultTtl.compareTo(maxTtl) > 0) {
            throw new IllegalArgumentException("defaultTtl: " + defaultTtl + " (expected: > 0 and <= maxTtl "
                    + maxTtl + ")");
        }
        maxDelegationDepth = requireNonNullElse(maxDelegationDepth, 3);
        if (maxDelegationDepth < 0 || maxDelegationDepth > 16) {
            throw new IllegalArgumentException("maxDelegationDepth: " + maxDelegationDepth
                    + " (expected: 0 to 16)");
        }
        maxActive = requireNonNullElse(maxActive, 10_000);
        if (maxActive < 1) {
            throw new IllegalArgumentException("maxActive: " + maxActive + " (expected: > 0)");
        }
    }

    /** The store named by the journal: {@code journal} with one, {@code memory} without. */
    public TasksConfig(Path journal, String fsync, Duration defaultTtl, Duration maxTtl, Integer maxDelegationDepth,
                       Integer maxActive) {
        this(journal, fsync, defaultTtl, maxTtl, maxDelegationDepth, maxActive, null);
    }

    public static TasksConfig defaults() {
        return new TasksConfig(null, null, null, null, null, null, null);
    }

    /** The same settings with another journal (null: memory only), and the store that follows from it. */
    public TasksConfig withJournal(Path newJournal) {
        return new TasksConfig(newJournal, fsync, defaultTtl, maxTtl, maxDelegationDepth, maxActive, null);
    }

    /** The same settings with another store ({@code journal} needs a journal; see {@link #withJournal}). */
    public TasksConfig withStore(String newStore) {
        return new TasksConfig(MEMORY.equals(newStore) || ETCD.equals(newStore) ? null : journal, fsync, defaultTtl,
                maxTtl, maxDelegationDepth, maxActive, newStore);
    }

    TasksConfig resolve(Path base) {
        return journal == null ? this : new TasksConfig(base.resolve(journal), fsync, defaultTtl, maxTtl,
                maxDelegationDepth, maxActive, store);
    }
}
