package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.AuditConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The audit trail of one sidecar: a bounded lock-free queue in front of a single writer thread that chains
 * ({@code prev_hash}, {@code hash}), encodes and writes each record in the order accepted.
 *
 * <p><b>Durable before forward.</b> A caller that must not go on before its record is in the file (a call's decision
 * record) offers it with a {@link Durable} waiter: the writer group-commits (one write for every record that arrived
 * while it wrote the last batch; no timer, no gathering delay) and then wakes each waiting event loop once per batch
 * with {@code done(true)}. "In the file" means the write returned (it survives {@code kill -9}); with
 * {@link AuditFsync#BATCH} also that the file was synced to its device. Nothing blocks an event loop: an offer is a
 * compare-and-swap, and the writer is woken only when it sleeps.
 *
 * <p><b>Failures.</b> A sink whose write, flush or sync fails (disk full, I/O error) is retried with back-off and
 * never leaves a partial record (see {@link FileAuditSink}). From the failure until a write succeeds again the trail
 * takes no new records ({@link #available} is false, so callers deny at once), and every caller still waiting is
 * told {@code done(false)} at once: its record stays queued and is written when the sink recovers, but its call is
 * not forwarded. A writer stuck in one batch (a hung disk) longer than the bound ({@code audit.maxWait}) is treated
 * the same way by a watchdog thread, so no call waits for the audit trail longer than about that bound. Records are never dropped once accepted. A caller that gave up on a record reports it with
 * {@link #refused}; the trail writes one {@code gap} record with their count as soon as it writes again.
 *
 * <p>Thread-safe. The writer itself is {@link AuditWriter}.
 */
public final class AuditTrail implements AutoCloseable {
    /** Told, on the executor given with the record, whether the record is in the file. */
    @FunctionalInterface
    public interface Durable {
        /**
         * {@code written}: the record is in the file (per {@code audit.fsync}); otherwise the sink failed first (the
         * record is written later, but the caller must not act on it as written).
         */
        void done(boolean written);
    }

    private final AuditQueue queue;
    private final AuditWriter writer;
    private final Thread thread;
    private final Thread watchdog;
    private final Gaps gaps = new Gaps();
    private final List<BiConsumer<AuditRecord, String>> subscribers = new CopyOnWriteArrayList<>();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong refusedTotal = new AtomicLong();
    private final long stallNanos;
    /** Per calling thread: a task that wakes the writer is already scheduled on its executor. */
    private final ThreadLocal<boolean[]> wakePending = ThreadLocal.withInitial(() -> new boolean[1]);
    private volatile boolean closed;

    private AuditTrail(AuditSink sink, String head, int capacity, Clock clock, AuditFsync fsync,
                       Duration fsyncInterval, Duration stall) {
        this.queue = new AuditQueue(capacity);
        this.stallNanos = stall.toNanos();
        this.writer = new AuditWriter(sink, head, queue, gaps, subscribers, clock, fsync, fsyncInterval);
        this.thread = new Thread(writer::run, "toolgate-audit-writer");
        this.thread.setDaemon(true);
        this.watchdog = new Thread(this::watch, "toolgate-audit-watchdog");
        this.watchdog.setDaemon(true);
        queue.consumer(thread);
    }

    /** Fails the waiters of a writer stuck past the bound, checking a few times per bound. */
    private void watch() {
        Wakeups wakeups = new Wakeups();
        long tick = Math.max(TimeUnit.MILLISECONDS.toNanos(5), Math.min(stallNanos / 4,
                TimeUnit.MILLISECONDS.toNanos(250)));
        while (!closed) {
            LockSupport.parkNanos(this, tick);
            writer.failWaitersIfStalled(stallNanos, wakeups);
        }
    }

    /**
     * Starts a trail writing to {@code sink}, continuing the chain after {@code lastHash} (null: a new chain), with
     * the default durability ({@link AuditFsync#INTERVAL}, every second).
     *
     * @param capacity records that may wait for the writer before {@link #offer} refuses (back-pressure)
     */
    public static AuditTrail start(AuditSink sink, String lastHash, int capacity) {
        return start(sink, lastHash, capacity, Clock.systemUTC());
    }

    /** As {@link #start(AuditSink, String, int)}, with the clock that dates the trail's own (gap) records. */
    public static AuditTrail start(AuditSink sink, String lastHash, int capacity, Clock clock) {
        return start(sink, lastHash, capacity, clock, AuditFsync.INTERVAL, Duration.ofSeconds(1),
                Duration.ofSeconds(2));
    }

    /**
     * Starts a trail.
     *
     * @param fsync         what a power loss may take ({@code audit.fsync})
     * @param fsyncInterval for {@link AuditFsync#INTERVAL}: how long a written record may stay unsynced
     * @param stall         a writer busy with one batch longer than this makes the trail unavailable (a hung
     *                      disk: calls fail closed at once instead of queueing behind it)
     */
    public static AuditTrail start(AuditSink sink, String lastHash, int capacity, Clock clock, AuditFsync fsync,
                                   Duration fsyncInterval, Duration stall) {
        requireNonNull(sink, "sink");
        requireNonNull(clock, "clock");
        requireNonNull(fsync, "fsync");
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: > 0)");
        }
        if (fsyncInterval.isNegative() || fsyncInterval.isZero()) {
            throw new IllegalArgumentException("fsyncInterval: " + fsyncInterval + " (expected: > 0)");
        }
        AuditTrail t = new AuditTrail(sink, lastHash == null ? AuditCodec.GENESIS : lastHash, capacity, clock, fsync,
                fsyncInterval, stall);
        t.thread.start();
        t.watchdog.start();
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
        AuditSink sink = FileAuditSink.rotating(file, cfg.maxFileBytes(), clock, AuditRetention.of(cfg));
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
        return start(sink, head, cfg.queue(), clock, AuditFsync.parse(cfg.fsync()), cfg.fsyncInterval(),
                cfg.maxWait());
    }

    /**
     * Hands a record to the writer without waiting for it (a handshake refusal), waking the writer now: {@code false}
     * if it cannot be accepted now (queue full, sink failing, trail closed). Never blocks.
     */
    public boolean offer(AuditRecord record) {
        return offer(record, null, null);
    }

    /**
     * Hands a record to the writer and, unless {@code waiter} is null, has it told on {@code executor} once the record
     * is in the file (see {@link Durable}); {@code false} (and the waiter is never told) if it cannot be accepted now.
     * Never blocks.
     *
     * <p>With an {@code executor} (the caller's event loop) the writer is not woken at once: the first record a loop
     * hands over wakes it with a task on that loop, which runs once the loop has read what its sockets hold. Every
     * call a loop decides meanwhile joins the same batch: one wake-up of the writer per loop iteration, not one per
     * record (on a sidecar pinned to one core, each wake-up is a context switch away from the event loop).
     */
    public boolean offer(AuditRecord record, Executor executor, Durable waiter) {
        requireNonNull(record, "record");
        if (waiter != null && executor == null) {
            throw new IllegalArgumentException("a waiter needs its executor");
        }
        AuditEntry entry = new AuditEntry(record, executor, waiter);
        boolean added = executor == null ? available() && queue.offer(entry) : available() && queue.offerQuietly(entry);
        if (!added) {
            return false;
        }
        accepted.incrementAndGet();
        if (executor != null) {
            wakeLater(executor);
        }
        return true;
    }

    /** Wakes the writer with a task on {@code executor}, unless one is already pending for the calling thread. */
    private void wakeLater(Executor executor) {
        boolean[] pending = wakePending.get();
        if (pending[0]) {
            return;
        }
        pending[0] = true;
        try {
            executor.execute(() -> {
                pending[0] = false;
                queue.wake();
            });
        } catch (RuntimeException e) {
            // The loop is shutting down: wake the writer now rather than leave the record waiting.
            pending[0] = false;
            queue.wake();
        }
    }

    /**
     * For callers off the event loops (task lifecycle, ext_authz): offers {@code record}, retrying a full queue, and
     * waits until it is in the file. {@code false} if it was not accepted within {@code maxWait} (it is then counted
     * into the next {@code gap} record), or not written within {@code maxWait} of being accepted, or the sink failed
     * first: the caller fails closed.
     */
    public boolean writeAndWait(AuditRecord record, Duration maxWait) {
        long deadline = System.nanoTime() + maxWait.toNanos();
        CompletableFuture<Boolean> written = new CompletableFuture<>();
        while (!offer(record, Runnable::run, written::complete)) {
            if (!available() || System.nanoTime() - deadline > 0 || Thread.currentThread().isInterrupted()) {
                refused(record);
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        try {
            return written.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    /**
     * Reports a record the caller gave up on after {@link #offer} kept refusing it (its call was denied
     * {@code ERROR_FAIL_CLOSED}, or for an outcome record: the call's outcome is not recorded). Counted into the
     * next {@code gap} record, which the writer writes once it has caught up. Never blocks.
     */
    public void refused(AuditRecord record) {
        requireNonNull(record, "record");
        refusedTotal.incrementAndGet();
        gaps.add(record);
        queue.offerAlways(AuditEntry.WAKE);
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
        return writer.written();
    }

    /**
     * Whether the trail takes records now: false while its sink fails (the writer retries it; calls fail closed at
     * once rather than after {@code audit.maxWait}), while the writer has been stuck in one batch longer than
     * {@code audit.maxWait} (a hung disk), and once it is closed. Becomes true again, without a restart, when a write
     * succeeds; what was refused meanwhile is counted in a {@code gap} record.
     */
    public boolean available() {
        return !writer.failing() && !writer.stalledLongerThan(stallNanos) && !isClosed();
    }

    /** Whether the trail was closed or its writer died (readiness). */
    public boolean isClosed() {
        return closed || !thread.isAlive();
    }

    /** The hash of the last written record (the chain head). */
    public String head() {
        return writer.head();
    }

    /** Stops accepting, writes everything accepted so far (synced), closes the sink. */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(watchdog);
        queue.offerAlways(AuditEntry.STOP);
        try {
            // Bounded: a sink that hangs must not hang the shutdown too (what it has not written stays unwritten,
            // and the diagnostic log says so).
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writer.closeSink(thread.isAlive(), accepted.get());
    }

    static String newId() {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        return HexFormat.of().toHexDigits(rnd.nextLong()) + HexFormat.of().toHexDigits(rnd.nextLong());
    }
}
