package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Where task state is kept: the source of truth behind a {@link TaskRegistry}, whose in-memory index is what calls
 * read. State is a sequence of {@link TaskEvent}s, each given the next revision when it is appended; replaying them
 * in revision order rebuilds every task. A store can be an append-only file ({@link JournalTaskStore}, the embedded
 * default), nothing at all ({@link MemoryTaskStore}) or, for fleets, a replicated key-value store that other
 * sidecars write to as well.
 *
 * <p><b>The registry's use of it</b>, in order: {@link #load} once, right after the store was opened and before the
 * first {@link #append}, to rebuild its index; then {@link #follow} from the loaded revision, to hear of changes
 * other writers make; then {@link #append} for each change it makes itself, under its own lock, so its appends are
 * never concurrent with each other; {@link #close} when it closes.
 *
 * <p><b>Durability</b>: {@link #append} returns only once the event is as durable as the store promises (for the
 * journal, its fsync policy; for a shared store, committed): a caller that reports success after it must never
 * see the event lost by this store, and a store that is durable hands it back from {@link #load} after a reopen.
 * A store whose state is not known after a failed write refuses further appends and reports itself
 * {@linkplain #healthy unhealthy}: the registry then fails closed (nothing is started) and readiness drops.
 *
 * <p><b>Shared stores</b>: a store that other processes write to delivers their events to the {@link Listener}
 * given to {@link #follow}, in revision order, each once, never one of this store's own appends, and never one at
 * or below the revision {@link #load} returned. If it cannot continue from where it was (its history was compacted
 * meanwhile) it calls {@link Listener#lost} instead of skipping events: the registry must then stop trusting its
 * index. A store written by one process only never calls its listener.
 *
 * <p>What a store keeps is task lifecycle only: grants' spent budgets, rate buckets and the labels a task touched are
 * the registry's memory, not the store's (a restart gives a task's grants their whole budgets back).
 *
 * <p>Implementations are thread-safe; every method may be called from any thread. Failures to read or write are
 * {@link IOException}s naming the store; a bad argument is an unchecked exception.
 */
public interface TaskStore extends AutoCloseable {
    /**
     * How long after its expiry a task is still remembered, so that its token is answered with why it no longer
     * works rather than as unknown. A store may forget a task's events once this has passed (compaction, a lease).
     */
    Duration RETAIN = Duration.ofMinutes(10);

    /**
     * The state as opened: the events still relevant, in revision order, and the revision they reach.
     *
     * @param revision the last revision the events reflect (0 for a store that never recorded one)
     * @param events   the events to replay; a store may leave out those of tasks that expired long ago (compaction)
     */
    record Snapshot(long revision, List<TaskEvent> events) {
        public Snapshot {
            if (revision < 0) {
                throw new IllegalArgumentException("revision: " + revision + " (expected: >= 0)");
            }
            events = List.copyOf(requireNonNull(events, "events"));
        }
    }

    /** Hears of the changes other writers make to a shared store; called on a thread of the store. */
    interface Listener {
        /** Another writer recorded {@code event} at {@code revision}. */
        void changed(long revision, TaskEvent event);

        /**
         * The store cannot deliver the changes after the last one it delivered (history compacted, connection
         * lost for longer than the store can recover from): the listener's view is no longer complete.
         */
        void lost(IOException why);
    }

    /**
     * The state to rebuild from. Called once, after opening and before the first {@link #append}.
     *
     * @throws IOException if the state cannot be read
     * @throws IllegalStateException if called after an append
     */
    Snapshot load() throws IOException;

    /**
     * Delivers the events other writers record after {@code afterRevision} to {@code listener} until the store is
     * closed. A store only this process writes never calls it, and its default does nothing.
     */
    default void follow(long afterRevision, Listener listener) {
        requireNonNull(listener, "listener");
    }

    /**
     * Records {@code event}.
     *
     * @return its revision (1 for the first event a store ever recorded, then increasing by one per append of this
     *     store; a shared store's revisions increase but may skip the ones other writers took)
     * @throws IOException if it could not be recorded, if the store is closed or refuses appends after a failure;
     *     the change must then not be reported as made
     */
    long append(TaskEvent event) throws IOException;

    /**
     * Whether the store takes appends now (false once closed, or after a failed write that leaves its state
     * unknown); readiness follows it.
     */
    default boolean healthy() {
        return true;
    }

    /**
     * Why calls must not be decided on the index this store feeds now, naming the store (a shared store whose view
     * is older than its bound, or no longer complete), or null while the view is current; decisions then deny
     * {@code ERROR_FAIL_CLOSED} with it and readiness fails. Called on every call: cheap, never blocks. A store only
     * this process writes is always current, and its default answers null.
     */
    default String staleness() {
        return null;
    }

    /** The last revision recorded or loaded (0 when none). */
    long revision();

    /** Releases the store (files, locks, connections); appends then fail. Idempotent. */
    @Override
    void close() throws IOException;
}
