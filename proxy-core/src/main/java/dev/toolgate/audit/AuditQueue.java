package dev.toolgate.audit;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The records waiting for the trail's one writer thread: a bounded, lock-free, many-producer single-consumer queue.
 *
 * <p>A producer (an event loop) never takes a lock: it adds with a compare-and-swap and wakes the writer only when
 * the writer said it is about to sleep, and an event loop wakes it at most once per loop iteration
 * ({@link #offerQuietly}, then {@link #wake} from a task the trail schedules on the loop): the calls a loop decides
 * in one iteration go to the file in one batch, with one {@code unpark}, not one per record.
 *
 * <p>The writer announces that it will sleep, then looks at the queue once more before it parks; a producer adds,
 * then looks at that announcement. Both are volatile (sequentially consistent), so at least one of the two sees the
 * other: a record is never left waiting for a writer that sleeps.
 */
final class AuditQueue {
    private final ConcurrentLinkedQueue<AuditEntry> entries = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final int capacity;
    private volatile Thread consumer;
    private volatile boolean sleeping;

    AuditQueue(int capacity) {
        this.capacity = capacity;
    }

    /** Names the one thread that polls (the writer); before any {@link #awaitWork}. */
    void consumer(Thread writer) {
        this.consumer = writer;
    }

    /** Adds {@code e} unless {@code capacity} entries wait already. Never blocks. */
    boolean offer(AuditEntry e) {
        if (!offerQuietly(e)) {
            return false;
        }
        wake();
        return true;
    }

    /**
     * Adds {@code e} unless {@code capacity} entries wait already, without waking the writer: the caller wakes it
     * ({@link #wake}) once it has handed over everything it has now. Never blocks.
     */
    boolean offerQuietly(AuditEntry e) {
        while (true) {
            int n = size.get();
            if (n >= capacity) {
                return false;
            }
            if (size.compareAndSet(n, n + 1)) {
                break;
            }
        }
        entries.add(e);
        return true;
    }

    /** Adds {@code e} past the capacity (the trail's own control entries, which must not be refused). */
    void offerAlways(AuditEntry e) {
        size.incrementAndGet();
        entries.add(e);
        wake();
    }

    /** Wakes the writer if it sleeps (it then takes everything waiting). */
    void wake() {
        if (sleeping) {
            LockSupport.unpark(consumer);
        }
    }

    /** The entries waiting now, oldest first (weakly consistent: may miss one being added). Writer thread only. */
    Iterable<AuditEntry> waiting() {
        return entries;
    }

    /** The oldest entry, or null if none waits. Writer thread only. */
    AuditEntry poll() {
        AuditEntry e = entries.poll();
        if (e != null) {
            size.decrementAndGet();
        }
        return e;
    }

    /**
     * Parks the writer until an entry may be waiting or {@code nanos} pass ({@code <= 0}: until an entry); returns at
     * once if one waits already. Writer thread only; may return spuriously (the caller polls again).
     */
    void awaitWork(long nanos) {
        sleeping = true;
        try {
            if (!entries.isEmpty()) {
                return;
            }
            if (nanos > 0) {
                LockSupport.parkNanos(this, nanos);
            } else {
                LockSupport.park(this);
            }
        } finally {
            sleeping = false;
        }
    }
}
