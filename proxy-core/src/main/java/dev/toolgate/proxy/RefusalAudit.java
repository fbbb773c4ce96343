package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.audit.AuditRecord;
import dev.toolgate.audit.AuditTrail;
import io.netty.channel.Channel;
import io.netty.util.concurrent.EventExecutor;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Audits refusals made before any request exists (an agent's TLS handshake, an HTTP/2 stream or connection the
 * codec reset for a malformed head or frame), aggregated so that a flood cannot fill the disk: per key (the kind of
 * refusal, its rule and who was refused) the first refusal is written at once (with {@code count} 1), the ones that
 * follow within {@link #WINDOW_MILLIS} are summed up in one record at the end of that window ({@code count},
 * {@code first_ts}, {@code last_ts}), and so on while they keep coming. Past {@link #MAX_KEYS} distinct keys at a
 * time, further subjects of a rule share one key. Each record written is also logged once at INFO, so the log is
 * rate-limited alike. A record the trail cannot take at once is reported as refused (it shows in the next
 * {@code gap} record); nothing here blocks an event loop. One per listener; thread-safe.
 */
final class RefusalAudit implements AutoCloseable {
    static final long WINDOW_MILLIS = 1000;
    static final int MAX_KEYS = 128;
    private static final Logger log = LoggerFactory.getLogger(RefusalAudit.class);

    /** One refusal as this class aggregates and records it. Implementations are immutable values. */
    interface Refusal {
        /** The rule that refused: refusals alike (same kind, rule and subject) share a record. */
        String rule();

        /** Who was refused (a SPIFFE ID, presented or verified), or null when nobody is known. */
        String subject();

        /** What the record names that may differ between refusals alike (a fingerprint, a detail), or null. */
        String variant();

        /** The record that stands for the refusals {@code tally} counts, this one the first of them. */
        AuditRecord record(Instant ts, String decisionId, Tally tally);
    }

    /**
     * What one record stands for: {@code count} refusals alike between {@code first} and {@code last};
     * {@code manySubjects} when the key stands for every subject past {@link #MAX_KEYS}; {@code variantsDiffer}
     * when their {@link Refusal#variant}s were not all the first one's.
     */
    record Tally(long count, Instant first, Instant last, boolean manySubjects, boolean variantsDiffer) {}

    /** What one refusal is aggregated under; {@code many} stands for every subject past {@link #MAX_KEYS}. */
    private record Key(Class<?> kind, String rule, String subject, boolean many) {}

    /** The refusals of one key in the current window; touched only inside the map's {@code compute*} calls. */
    private static final class Window {
        final EventExecutor executor;
        long count;
        Instant first;
        Instant last;
        Refusal sample;
        boolean variantsDiffer;

        Window(EventExecutor executor) {
            this.executor = executor;
        }

        void add(Instant now, Refusal r) {
            if (count == 0) {
                first = now;
                sample = r;
            } else if (!Objects.equals(sample.variant(), r.variant())) {
                variantsDiffer = true;
            }
            count++;
            last = now;
        }
    }

    private final AuditTrail trail;
    private final Clock clock;
    private final ConcurrentHashMap<Key, Window> windows = new ConcurrentHashMap<>();

    RefusalAudit(AuditTrail trail, Clock clock) {
        this.trail = requireNonNull(trail, "trail");
        this.clock = requireNonNull(clock, "clock");
    }

    /** Audits one refusal on {@code channel} (whose event loop times its window). */
    void refused(Channel channel, Refusal refusal) {
        requireNonNull(refusal, "refusal");
        Instant now = clock.instant();
        Key own = new Key(refusal.getClass(), refusal.rule(), refusal.subject(), false);
        Key key = windows.containsKey(own) || windows.size() < MAX_KEYS ? own
                : new Key(refusal.getClass(), refusal.rule(), null, true);
        boolean[] opened = {false};
        windows.compute(key, (k, w) -> {
            if (w == null) {
                opened[0] = true;
                return new Window(channel.eventLoop());
            }
            w.add(now, refusal);
            return w;
        });
        if (opened[0]) {
            write(refusal, new Tally(1, now, now, key.many(), false));
            schedule(key, channel.eventLoop());
        }
    }

    /** Writes what the open windows hold (at shutdown, before the trail closes). */
    @Override
    public void close() {
        for (Key key : windows.keySet()) {
            Window w = windows.remove(key);
            if (w != null && w.count > 0) {
                write(w.sample, new Tally(w.count, w.first, w.last, key.many(), w.variantsDiffer));
            }
        }
    }

    private void schedule(Key key, EventExecutor executor) {
        try {
            executor.schedule(() -> endWindow(key), WINDOW_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // Shutting down: close() writes what the window holds.
        }
    }

    private void endWindow(Key key) {
        Window[] ended = {null};
        windows.computeIfPresent(key, (k, w) -> {
            if (w.count == 0) {
                return null; // a quiet window: the next refusal is written at once again
            }
            ended[0] = w;
            return new Window(w.executor);
        });
        Window w = ended[0];
        if (w != null) {
            write(w.sample, new Tally(w.count, w.first, w.last, key.many(), w.variantsDiffer));
            schedule(key, w.executor);
        }
    }

    private void write(Refusal sample, Tally tally) {
        AuditRecord record = sample.record(clock.instant(), decisionId(), tally);
        if (!trail.offer(record)) {
            trail.refused(record);
        }
        log.info("{} refused ({} time{}): {}", record.operation(), tally.count(), tally.count() == 1 ? "" : "s",
                record.reason());
    }

    private static String decisionId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return String.format("%016x%016x", r.nextLong(), r.nextLong());
    }
}
