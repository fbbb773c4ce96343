package dev.toolgate.audit;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code audit.fsync: interval}: a thread of its own syncs what the writer wrote, at most one interval after it was
 * written, so that a slow {@code fdatasync} (milliseconds on a busy disk) never holds back the writer and the calls
 * waiting for it. A failed sync is logged and retried at the next interval (what it could not sync may be lost to a
 * power loss, never to a process crash).
 */
final class IntervalSync {
    private static final Logger log = LoggerFactory.getLogger(IntervalSync.class);

    private final AuditSink sink;
    private final long intervalNanos;
    private final Thread thread;
    private volatile boolean dirty;
    private volatile boolean closed;
    private long lastFailureLog;

    IntervalSync(AuditSink sink, long intervalNanos) {
        this.sink = sink;
        this.intervalNanos = intervalNanos;
        this.thread = new Thread(this::run, "toolgate-audit-sync");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** The writer flushed records to the file: they are synced within the interval. */
    void written() {
        if (!dirty) {
            dirty = true;
        }
    }

    private void run() {
        while (!closed) {
            LockSupport.parkNanos(this, intervalNanos);
            if (dirty && !closed) {
                dirty = false;
                try {
                    sink.syncWritten();
                } catch (IOException e) {
                    dirty = true;
                    long now = System.nanoTime();
                    if (lastFailureLog == 0 || now - lastFailureLog > TimeUnit.SECONDS.toNanos(10)) {
                        lastFailureLog = now;
                        log.error("audit file sync failed (records written since the last sync may be lost to a"
                                + " power loss, not to a crash); retrying every interval: {}", e.toString());
                    }
                }
            }
        }
    }

    /** Stops the thread (the writer syncs once more itself when it stops). */
    void close() {
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
