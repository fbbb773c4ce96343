package dev.toolgate.audit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the callers of one batch that their records are written (or that the sink failed first), one task per
 * executor: an event loop with 200 calls in the batch is woken once, not 200 times. Used by one thread (each of
 * the writer and the watchdog has its own).
 */
final class Wakeups {
    private static final Logger log = LoggerFactory.getLogger(Wakeups.class);

    private final List<Executor> executors = new ArrayList<>(4);
    private final List<List<AuditEntry>> entries = new ArrayList<>(4);

    /** Adds {@code e}'s waiter, to be told {@code written}, if it still waits and nobody else claimed it. */
    void add(AuditEntry e, boolean written) {
        if (!e.claim(written)) {
            return;
        }
        int i = executors.indexOf(e.executor);
        if (i < 0) {
            executors.add(e.executor);
            entries.add(new ArrayList<>());
            i = executors.size() - 1;
        }
        entries.get(i).add(e);
    }

    /** Runs every added waiter with {@code written} (as given to {@link #add}) on its executor; forgets them. */
    void dispatch(boolean written) {
        for (int i = 0; i < executors.size(); i++) {
            List<AuditEntry> mine = entries.get(i);
            try {
                executors.get(i).execute(() -> {
                    for (AuditEntry e : mine) {
                        e.waiter.done(written);
                    }
                });
            } catch (RejectedExecutionException e) {
                // The caller's event loop shut down: its connections are gone, nobody waits any more.
                log.debug("audit waiters of a stopped executor not told: {}", e.toString());
            }
        }
        executors.clear();
        entries.clear();
    }
}
