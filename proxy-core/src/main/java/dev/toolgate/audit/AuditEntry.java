package dev.toolgate.audit;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * One record handed to the trail, and who waits for it to be in the file: the callback and the executor it runs
 * on (the caller's event loop). Fields are written by the producer before the entry is queued and read by the
 * writer after it polls it (the queue publishes them). The waiter is told once: by the writer, or by the trail's
 * watchdog when the writer is stuck, whichever {@link #claim}s it first.
 */
final class AuditEntry {
    /** Not a record: makes the writer look for a gap to write. */
    static final AuditEntry WAKE = new AuditEntry(null, null, null);
    /** Not a record: the writer writes what is left and stops. */
    static final AuditEntry STOP = new AuditEntry(null, null, null);

    final AuditRecord record;
    final Executor executor;
    final AuditTrail.Durable waiter;
    private volatile int told;
    private static final AtomicIntegerFieldUpdater<AuditEntry> TOLD =
            AtomicIntegerFieldUpdater.newUpdater(AuditEntry.class, "told");

    AuditEntry(AuditRecord record, Executor executor, AuditTrail.Durable waiter) {
        this.record = record;
        this.executor = executor;
        this.waiter = waiter;
    }

    /**
     * True once, for the one thread that will tell the waiter {@code written}; false if there is none or it was
     * claimed already.
     */
    boolean claim(boolean written) {
        return waiter != null && told == 0 && TOLD.compareAndSet(this, 0, written ? 1 : 2);
    }

    /** Its waiter was told the record is not written (the call was refused), whatever happened to it after. */
    boolean toldNotWritten() {
        return told == 2;
    }
}
