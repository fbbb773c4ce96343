package dev.toolgate.grant;

import java.io.IOException;
import java.util.List;

/**
 * Where task state changes are kept. State is a sequence of {@link TaskEvent}s, each given the next revision when
 * it is appended, so a store can be an append-only file (the embedded default) or, for fleets, a replicated
 * key-value store whose watch delivers other sidecars' events.
 *
 * <p>Implementations are thread-safe. {@link #append} returns only once the event is as durable as the store's
 * sync policy says: a caller that reports success to its own caller after it must never see the event lost.
 */
public interface GrantStore extends AutoCloseable {

    /**
     * Records {@code event}.
     *
     * @return its revision (1 for the first event a store ever recorded, then increasing by one)
     * @throws IOException if it could not be recorded; the change must then not take effect
     */
    long append(TaskEvent event) throws IOException;

    /** The events recorded before this store was opened, in revision order: what the registry replays. */
    List<TaskEvent> recovered();

    /**
     * Whether the store takes appends now (false once closed, or after a failed write that leaves its state
     * unknown); readiness follows it.
     */
    default boolean healthy() {
        return true;
    }

    /** The last revision recorded (0 when none). */
    long revision();

    @Override
    void close() throws IOException;
}
