package dev.toolgate.audit;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trail's writer thread: takes every record waiting, chains and writes them, makes the batch as durable as
 * {@code audit.fsync} says, then wakes the callers that wait for it (one task per event loop). The next batch is what
 * arrived meanwhile: group commit without a timer, so a lone call at a low rate waits for one write, not for a
 * gathering window.
 *
 * <p>A write, flush or sync that fails is retried with back-off; meanwhile {@link #failing} is true, and every
 * caller still waiting (in the batch or the queue) is told at once that its record is not written. Used by one
 * thread; the volatile fields are read by callers.
 */
final class AuditWriter {
    private static final Logger log = LoggerFactory.getLogger(AuditWriter.class);
    private static final int MAX_BATCH = 1024;

    private final AuditSink sink;
    private final AuditQueue queue;
    private final Gaps gaps;
    private final List<BiConsumer<AuditRecord, String>> subscribers;
    private final Clock clock;
    private final AuditFsync fsync;
    /** With {@code audit.fsync: interval}, the thread that syncs; else null. */
    private final IntervalSync intervalSync;
    private final Wakeups wakeups = new Wakeups();
    private volatile String head;
    private volatile long written;
    /** Set when the sink's write, flush or sync fails, cleared when one succeeds again. */
    private volatile boolean failing;
    /** When the batch being written began ({@code System.nanoTime}, never 0), or 0 while idle. */
    private volatile long batchStart;
    /** The batch being written (for the watchdog), or empty. */
    private volatile AuditEntry[] current = NONE;
    private static final AuditEntry[] NONE = new AuditEntry[0];
    /** Records were written since the last sync. */
    private boolean dirty;

    AuditWriter(AuditSink sink, String head, AuditQueue queue, Gaps gaps,
                List<BiConsumer<AuditRecord, String>> subscribers, Clock clock, AuditFsync fsync,
                Duration fsyncInterval) {
        this.sink = sink;
        this.head = head;
        this.queue = queue;
        this.gaps = gaps;
        this.subscribers = subscribers;
        this.clock = clock;
        this.fsync = fsync;
        this.intervalSync = fsync == AuditFsync.INTERVAL ? new IntervalSync(sink, fsyncInterval.toNanos()) : null;
    }

    String head() {
        return head;
    }

    long written() {
        return written;
    }

    boolean failing() {
        return failing;
    }

    boolean stalledLongerThan(long nanos) {
        long start = batchStart;
        return start != 0 && System.nanoTime() - start > nanos;
    }

    /**
     * Called by the trail's watchdog thread: if the writer has been stuck in one batch longer than {@code nanos} (a
     * hung disk), tells every caller still waiting (in the batch or the queue) that its record is not written, so
     * that its call fails closed in bounded time. Their records stay queued and are written if the disk returns.
     */
    void failWaitersIfStalled(long nanos, Wakeups wakeups) {
        if (!stalledLongerThan(nanos)) {
            return;
        }
        for (AuditEntry w : current) {
            wakeups.add(w, false);
        }
        for (AuditEntry w : queue.waiting()) {
            wakeups.add(w, false);
        }
        wakeups.dispatch(false);
    }

    void run() {
        if (intervalSync != null) {
            intervalSync.start();
        }
        AuditCodec codec = new AuditCodec();
        List<AuditEntry> batch = new ArrayList<>(MAX_BATCH);
        try {
            boolean stop = false;
            while (!stop) {
                AuditEntry e = queue.poll();
                if (e == null) {
                    idle(codec, batch);
                    continue;
                }
                do {
                    batch.add(e);
                } while (batch.size() < MAX_BATCH && (e = queue.poll()) != null);
                stop = commit(codec, batch);
                batch.clear();
            }
            // What raced in behind the stop (an offer that passed the closed check just before it was set).
            for (AuditEntry e; (e = queue.poll()) != null; ) {
                batch.add(e);
            }
            commit(codec, batch);
            if (intervalSync != null) {
                intervalSync.close();
            }
            if (fsync != AuditFsync.NEVER && dirty) {
                syncUntilDone(batch);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Nothing waits: write a pending gap record, or sleep until something comes. */
    private void idle(AuditCodec codec, List<AuditEntry> batch) throws InterruptedException {
        if (gaps.pending()) {
            commit(codec, batch);
            return;
        }
        queue.awaitWork(0);
    }

    /** Writes one batch and any gap record, flushes (and syncs), wakes its waiters; true if it held the stop. */
    private boolean commit(AuditCodec codec, List<AuditEntry> batch) throws InterruptedException {
        current = batch.toArray(NONE);
        batchStart = System.nanoTime() | 1;
        boolean stop = false;
        for (AuditEntry e : batch) {
            if (e == AuditEntry.STOP) {
                stop = true;
            } else if (e != AuditEntry.WAKE) {
                write(codec, e.record, batch);
                written++;
            }
        }
        // Records refused while the sink failed are summed up as soon as it writes again, not with the next record
        // that happens to come.
        do {
            writeGap(codec, batch);
            flushUntilDone(batch);
        } while (gaps.pending());
        if (fsync == AuditFsync.BATCH && dirty) {
            syncUntilDone(batch);
        } else if (intervalSync != null && dirty) {
            intervalSync.written();
        }
        for (AuditEntry e : batch) {
            wakeups.add(e, true);
        }
        wakeups.dispatch(true);
        writtenLate(codec, batch);
        batchStart = 0;
        current = NONE;
        return stop;
    }

    private void write(AuditCodec codec, AuditRecord r, List<AuditEntry> batch) throws InterruptedException {
        String line = codec.encode(r, head);
        long backoffMs = 10;
        while (true) {
            try {
                sink.write(line);
                recovered();
                break;
            } catch (IOException e) {
                backoffMs = failed("write", e, backoffMs, batch);
            }
        }
        head = codec.lastHash();
        dirty = true;
        for (BiConsumer<AuditRecord, String> s : subscribers) {
            s.accept(r, line);
        }
    }

    /**
     * Records of the batch, now in the file, whose callers had been told they were not (the sink failed or stalled
     * first): their calls were refused and their task requests failed, though the records read as decided. One
     * {@code gap} record ({@code event: written_late}) names them, so that the file says what happened.
     */
    private void writtenLate(AuditCodec codec, List<AuditEntry> batch) throws InterruptedException {
        List<AuditRecord> late = null;
        for (AuditEntry e : batch) {
            if (e.toldNotWritten()) {
                if (late == null) {
                    late = new ArrayList<>();
                }
                late.add(e.record);
            }
        }
        if (late == null) {
            return;
        }
        AuditRecord r = AuditRecord.writtenLate(clock.instant(), AuditTrail.newId(), late);
        write(codec, r, batch);
        flushUntilDone(batch);
        log.warn("audit: {}", r.reason());
    }

    /** Writes the gap record of what was refused since the last one, if anything was. */
    private void writeGap(AuditCodec codec, List<AuditEntry> batch) throws InterruptedException {
        Gaps.Sum g = gaps.take();
        if (g == null) {
            return;
        }
        String reason = g.reason();
        write(codec, AuditRecord.gap(clock.instant(), AuditTrail.newId(), g.count(), g.first(), g.last(), reason),
                batch);
        log.warn("audit gap: {}", reason);
    }

    /** Makes the batch reach the file, retrying a failing sink (it keeps what it could not write) until it does. */
    private void flushUntilDone(List<AuditEntry> batch) throws InterruptedException {
        long backoffMs = 10;
        while (true) {
            try {
                sink.flush();
                recovered();
                return;
            } catch (IOException e) {
                backoffMs = failed("flush", e, backoffMs, batch);
            }
        }
    }

    private void syncUntilDone(List<AuditEntry> batch) throws InterruptedException {
        long backoffMs = 10;
        while (true) {
            try {
                sink.sync();
                recovered();
                dirty = false;
                return;
            } catch (IOException e) {
                backoffMs = failed("sync", e, backoffMs, batch);
            }
        }
    }

    /**
     * Marks the sink failing (offers are refused from now on), tells every caller still waiting that its record is
     * not written, waits {@code backoffMs}; returns the next wait.
     */
    private long failed(String what, IOException e, long backoffMs, List<AuditEntry> batch)
            throws InterruptedException {
        if (!failing) {
            failing = true;
            log.error("audit sink {} failed; refusing records (calls fail closed) and retrying: {}", what,
                    e.toString());
        } else {
            log.debug("audit sink {} still failing, retrying in {} ms: {}", what, backoffMs, e.toString());
        }
        for (AuditEntry w : batch) {
            wakeups.add(w, false);
        }
        for (AuditEntry w : queue.waiting()) {
            wakeups.add(w, false);
        }
        wakeups.dispatch(false);
        TimeUnit.MILLISECONDS.sleep(backoffMs);
        return Math.min(backoffMs * 2, 1000);
    }

    private void recovered() {
        if (failing) {
            failing = false;
            batchStart = System.nanoTime() | 1;
            log.warn("audit sink writes again; taking records again");
        }
    }

    /** Closes the sink once the writer stopped (or gave up waiting for it: {@code stillRunning}). */
    void closeSink(boolean stillRunning, long accepted) {
        if (stillRunning) {
            log.error("audit writer did not drain in 10 s; {} accepted records are unwritten", accepted - written);
        }
        try {
            sink.close();
        } catch (IOException e) {
            log.error("closing the audit sink failed: {}", e.toString());
        }
    }
}
