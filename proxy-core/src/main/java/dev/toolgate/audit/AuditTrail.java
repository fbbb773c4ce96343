package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.AuditConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail of one sidecar: a bounded queue in front of a single writer thread that chains (prev_hash,
 * hash), encodes and writes each record in the order accepted.
 *
 * <p>{@link #offer} never blocks (the data plane calls it on event loops): {@code false} means the queue is full,
 * the sink is failing or the trail closed, and the caller must not forward the call (a full queue is retried for a
 * bounded time; while {@link #available} is false the caller denies at once). Records are never dropped once
 * accepted: a sink whose write or flush fails (disk full, I/O error) is retried with back-off, and from that failure
 * until a write and flush succeed again the trail takes no new records.
 *
 * <p>A caller that gave up on a record (its call was denied {@code ERROR_FAIL_CLOSED}) reports it with
 * {@link #refused}; the trail counts such records and, as soon as its writer has caught up, writes one {@code gap}
 * record with their count and the times of the first and the last, so that the loss is in the chain itself.
 * Thread-safe.
 */
public final class AuditTrail implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
    private static final AuditRecord STOP = AuditRecord.outcome(Instant.EPOCH, "stop", null, null, null,
            null, null, null, null, null, 0, 0);
    /** Not a record: makes the writer look for a gap to write. */
    private static final AuditRecord WAKE = AuditRecord.outcome(Instant.EPOCH, "wake", null, null, null,
            null, null, null, null, null, 0, 0);

    /** How long the writer lets records gather after the first one of a batch. */
    private static final long GATHER_NANOS = TimeUnit.MICROSECONDS.toNanos(500);
    private static final int MAX_BATCH = 1024;

    private final BlockingQueue<AuditRecord> queue;
    private final AuditSink sink;
    private final Thread writer;
    private final List<BiConsumer<AuditRecord, String>> subscribers = new CopyOnWriteArrayList<>();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final Clock clock;
    private final Object gapLock = new Object();
    /** Refused records not yet summed up in a gap record. Guarded by gapLock. */
    private Gap gap;
    private final AtomicLong refusedTotal = new AtomicLong();
    private volatile boolean closed;
    /** Set by the writer when the sink's write or flush fails, cleared when one succeeds again. */
    private volatile boolean failing;
    private volatile String head;

    /** What was refused since the last gap record: how many of each phase, and when. */
    private static final class Gap {
        long decisions;
        long outcomes;
        long tasks;
        Instant first;
        Instant last;

        long count() {
            return decisions + outcomes + tasks;
        }
    }

    private AuditTrail(AuditSink sink, String head, int capacity, Clock clock) {
        this.clock = clock;
        this.sink = sink;
        this.head = head;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.writer = new Thread(this::run, "toolgate-audit-writer");
        this.writer.setDaemon(true);
    }

    /**
     * Starts a trail writing to {@code sink}, continuing the chain after {@code lastHash} (null: a new chain).
     *
     * @param capacity records that may wait for the writer before {@link #offer} refuses (back-pressure)
     */
    public static AuditTrail start(AuditSink sink, String lastHash, int capacity) {
        return start(sink, lastHash, capacity, Clock.systemUTC());
    }

    /** As {@link #start(AuditSink, String, int)}, with the clock that dates the trail's own (gap) records. */
    public static AuditTrail start(AuditSink sink, String lastHash, int capacity, Clock clock) {
        requireNonNull(sink, "sink");
        requireNonNull(clock, "clock");
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: > 0)");
        }
        AuditTrail t = new AuditTrail(sink, lastHash == null ? AuditCodec.GENESIS : lastHash, capacity, clock);
        t.writer.start();
        return t;
    }

    /**
     * Starts the trail a sidecar configuration asks for: the rotating file (its chain continued from the file's last
     * record), and standard output too if configured.
     *
     * @throws IOException if the file cannot be opened, or a torn tail cannot be moved aside, or the last line left is
     *     not a record (a bad line before a torn tail: looked at by a person)
     */
    public static AuditTrail open(AuditConfig cfg) throws IOException {
        return open(cfg, Clock.systemUTC());
    }

    /**
     * As {@link #open(AuditConfig)}, with the clock that names rotated and side files and dates the trail's records.
     * A torn tail the last run left (a write cut short by a crash) is moved aside to a side file and the trail's
     * first record, a {@code gap} record with {@code event: torn_tail}, names it (see the module README).
     */
    public static AuditTrail open(AuditConfig cfg, Clock clock) throws IOException {
        requireNonNull(clock, "clock");
        Path file = cfg.file();
        Optional<AuditRecord.SideFile> moved = TornTail.moveAside(file, clock);
        String head = FileAuditSink.lastHash(file).orElse(null);
        AuditSink sink = FileAuditSink.rotating(file, cfg.maxFileBytes(), clock);
        if (cfg.stdout()) {
            sink = new StdoutAuditSink(sink, System.out);
        }
        if (moved.isPresent()) {
            try {
                head = TornTail.writeRecord(sink, head, moved.get(), file, clock);
            } catch (IOException e) {
                sink.close();
                throw e;
            }
        }
        return start(sink, head, cfg.queue(), clock);
    }

    /** Hands a record to the writer; {@code false} if it cannot be accepted now. Never blocks. */
    public boolean offer(AuditRecord record) {
        requireNonNull(record, "record");
        if (closed || failing || !queue.offer(record)) {
            return false;
        }
        accepted.incrementAndGet();
        return true;
    }

    /**
     * Reports a record the caller gave up on after {@link #offer} kept refusing it (its call was denied
     * {@code ERROR_FAIL_CLOSED}, or for an outcome record: the call's outcome is not recorded). Counted into the
     * next {@code gap} record, which the writer writes once it has caught up. Never blocks.
     */
    public void refused(AuditRecord record) {
        requireNonNull(record, "record");
        refusedTotal.incrementAndGet();
        synchronized (gapLock) {
            if (gap == null) {
                gap = new Gap();
                gap.first = record.ts();
            }
            switch (record.phase()) {
                case DECISION, GAP -> gap.decisions++;
                case OUTCOME -> gap.outcomes++;
                case TASK -> gap.tasks++;
            }
            if (record.ts().isBefore(gap.first)) {
                gap.first = record.ts();
            }
            if (gap.last == null || record.ts().isAfter(gap.last)) {
                gap.last = record.ts();
            }
        }
        // Wakes a writer that is waiting on an empty queue; if the queue is full, the writer is busy anyway and
        // looks at the gap after the batch it is on.
        queue.offer(WAKE);
    }

    /** How many records callers reported as refused ({@link #refused}) since the trail started. */
    public long refusedCount() {
        return refusedTotal.get();
    }

    /** Receives every written line, on the writer thread, after the sink took it. Keep it fast. */
    public void subscribe(Consumer<String> subscriber) {
        requireNonNull(subscriber, "subscriber");
        subscribers.add((record, line) -> subscriber.accept(line));
    }

    /**
     * Receives every written record with its line, on the writer thread, after the sink took it (the live tail
     * of the control API). Keep it fast: it runs inside the writer.
     */
    public void subscribeRecords(BiConsumer<AuditRecord, String> subscriber) {
        subscribers.add(requireNonNull(subscriber, "subscriber"));
    }

    /**
     * Stops delivering to {@code subscriber} (the instance given to {@link #subscribeRecords}); records the writer is
     * handing out at this moment may still reach it. Returns false if it was not subscribed.
     */
    public boolean unsubscribeRecords(BiConsumer<AuditRecord, String> subscriber) {
        return subscribers.remove(requireNonNull(subscriber, "subscriber"));
    }

    public long accepted() {
        return accepted.get();
    }

    public long written() {
        return written.get();
    }

    /**
     * Whether the trail takes records now: false while its sink fails (the writer retries it; calls fail closed at
     * once rather than after {@code audit.maxWait}) and once it is closed. Becomes true again, without a restart, when
     * a write succeeds; what was refused meanwhile is counted in a {@code gap} record.
     */
    public boolean available() {
        return !failing && !isClosed();
    }

    /** Whether the trail was closed or its writer died (readiness). */
    public boolean isClosed() {
        return closed || !writer.isAlive();
    }

    /** The hash of the last written record (the chain head). */
    public String head() {
        return head;
    }

    private void run() {
        AuditCodec codec = new AuditCodec();
        List<AuditRecord> batch = new ArrayList<>(MAX_BATCH);
        try {
            while (true) {
                batch.add(queue.take());
                // Group commit: let records gather for a moment so one write and one flush carry many, instead of
                // the event loops waking this thread and the file taking a write for every record.
                LockSupport.parkNanos(GATHER_NANOS);
                queue.drainTo(batch, MAX_BATCH - 1);
                for (AuditRecord r : batch) {
                    if (r == WAKE) {
                        continue;
                    }
                    if (r == STOP) {
                        writeGap(codec);
                        flushQuietly();
                        return;
                    }
                    write(codec, r);
                    written.incrementAndGet();
                }
                batch.clear();
                // Records refused while the sink failed are summed up as soon as it writes again, not with the next
                // record that happens to come.
                do {
                    writeGap(codec);
                    flushUntilDone();
                } while (gapPending());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void write(AuditCodec codec, AuditRecord r) throws InterruptedException {
        String line = codec.encode(r, head);
        writeUntilAccepted(line);
        head = codec.lastHash();
        for (BiConsumer<AuditRecord, String> s : subscribers) {
            s.accept(r, line);
        }
    }

    private boolean gapPending() {
        synchronized (gapLock) {
            return gap != null;
        }
    }

    /** Writes the gap record of what was refused since the last one, if anything was (writer thread only). */
    private void writeGap(AuditCodec codec) throws InterruptedException {
        Gap g;
        synchronized (gapLock) {
            g = gap;
            gap = null;
        }
        if (g == null) {
            return;
        }
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        String id = HexFormat.of().toHexDigits(rnd.nextLong()) + HexFormat.of().toHexDigits(rnd.nextLong());
        String reason = g.count() + " audit records could not be written (trail full past audit.maxWait, or its"
                + " sink failing): " + g.decisions
                + " calls denied ERROR_FAIL_CLOSED (no decision record), " + g.tasks + " task requests refused, "
                + g.outcomes + " forwarded calls without an outcome record";
        write(codec, AuditRecord.gap(clock.instant(), id, g.count(), g.first, g.last, reason));
        log.warn("audit gap: {}", reason);
    }

    private void writeUntilAccepted(String line) throws InterruptedException {
        long backoffMs = 10;
        while (true) {
            try {
                sink.write(line);
                recovered();
                return;
            } catch (IOException e) {
                backoffMs = failed("write", e, backoffMs);
            }
        }
    }

    /** Makes the batch durable, retrying a failing sink (it keeps what it could not write) until it succeeds. */
    private void flushUntilDone() throws InterruptedException {
        long backoffMs = 10;
        while (true) {
            try {
                sink.flush();
                recovered();
                return;
            } catch (IOException e) {
                backoffMs = failed("flush", e, backoffMs);
            }
        }
    }

    /** Marks the sink failing (offers are refused from now on), waits {@code backoffMs}; returns the next wait. */
    private long failed(String what, IOException e, long backoffMs) throws InterruptedException {
        if (!failing) {
            failing = true;
            log.error("audit sink {} failed; refusing records (calls fail closed) and retrying: {}", what,
                    e.toString());
        } else {
            log.debug("audit sink {} still failing, retrying in {} ms: {}", what, backoffMs, e.toString());
        }
        TimeUnit.MILLISECONDS.sleep(backoffMs);
        return Math.min(backoffMs * 2, 1000);
    }

    private void recovered() {
        if (failing) {
            failing = false;
            log.warn("audit sink writes again; taking records again");
        }
    }

    private void flushQuietly() {
        try {
            sink.flush();
        } catch (IOException e) {
            log.error("audit sink flush failed: {}", e.toString());
        }
    }

    /** Stops accepting, writes everything accepted so far, closes the sink. */
    @Override
    public void close() {
        closed = true;
        try {
            // Bounded: a sink that hangs must not hang the shutdown too (what it has not written stays unwritten,
            // and the diagnostic log says so).
            if (!queue.offer(STOP, 10, TimeUnit.SECONDS)) {
                log.error("audit writer did not drain in 10 s; {} accepted records are unwritten",
                        accepted.get() - written.get());
            }
            writer.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            sink.close();
        } catch (IOException e) {
            log.error("closing the audit sink failed: {}", e.toString());
        }
    }
}
