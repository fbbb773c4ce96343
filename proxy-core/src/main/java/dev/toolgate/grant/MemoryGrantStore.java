package dev.toolgate.grant;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A store that keeps nothing: the registry's own memory is the state, and a restart forgets every task (and so
 * every token stops working). For tests and for sidecars whose tasks never outlive the process. Thread-safe.
 */
public final class MemoryGrantStore implements GrantStore {
    private final AtomicLong revision = new AtomicLong();

    @Override
    public long append(TaskEvent event) {
        return revision.incrementAndGet();
    }

    @Override
    public List<TaskEvent> recovered() {
        return List.of();
    }

    @Override
    public long revision() {
        return revision.get();
    }

    @Override
    public void close() {
        // nothing to release
    }
}
