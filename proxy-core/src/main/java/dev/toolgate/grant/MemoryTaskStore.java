package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.util.List;

/**
 * A store that keeps nothing: the registry's own memory is the state, and a restart forgets every task (and so
 * every token stops working). For tests and for sidecars whose tasks never outlive the process. It loads as empty,
 * never fails an append while open, and refuses appends once closed. Thread-safe.
 */
public final class MemoryTaskStore implements TaskStore {
    private final Object lock = new Object();
    /** Guarded by {@link #lock}. */
    private long revision;
    /** Guarded by {@link #lock}. */
    private boolean closed;

    @Override
    public Snapshot load() {
        synchronized (lock) {
            if (revision != 0) {
                throw new IllegalStateException("load after append (expected: load once, before the first append)");
            }
            return new Snapshot(0, List.of());
        }
    }

    @Override
    public long append(TaskEvent event) throws IOException {
        requireNonNull(event, "event");
        synchronized (lock) {
            if (closed) {
                throw new IOException("memory task store is closed");
            }
            return ++revision;
        }
    }

    @Override
    public boolean healthy() {
        synchronized (lock) {
            return !closed;
        }
    }

    @Override
    public long revision() {
        synchronized (lock) {
            return revision;
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
        }
    }
}
