package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.audit.AuditRecord;
import dev.toolgate.audit.AuditTrail;
import io.netty.channel.Channel;
import io.netty.util.concurrent.EventExecutor;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Audits refused agent TLS handshakes, aggregated so that a flood cannot fill the disk: per (rule, presented ID)
 * the first refusal is written at once (with {@code count} 1), the ones that follow within {@link #WINDOW_MILLIS}
 * are summed up in one record at the end of that window ({@code count}, {@code first_ts}, {@code last_ts}), and so
 * on while they keep coming. Past {@link #MAX_KEYS} distinct keys at a time, further presented IDs of a rule share
 * one key. Each record written is also logged once at INFO, so the log is rate-limited alike. A record the trail
 * cannot take at once is reported as refused (it shows in the next {@code gap} record); nothing here blocks an event
 * loop. One per listener; thread-safe.
 */
final class HandshakeAudit implements AutoCloseable {
    static final long WINDOW_MILLIS = 1000;
    static final int MAX_KEYS = 128;
    private static final int MAX_DETAIL_CHARS = 300;
    private static final Logger log = LoggerFactory.getLogger(HandshakeAudit.class);

    /** What one refusal is aggregated under; {@code many} stands for every presented ID past {@link #MAX_KEYS}. */
    private record Key(String rule, String presentedId, boolean many) {}

    /** The refusals of one key in the current window; touched only inside the map's {@code compute*} calls. */
    private static final class Window {
        final EventExecutor executor;
        long count;
        Instant first;
        Instant last;
        HandshakeFailures.Refusal sample;
        boolean fingerprintsVary;

        Window(EventExecutor executor) {
            this.executor = executor;
        }

        void add(Instant now, HandshakeFailures.Refusal r) {
            if (count == 0) {
                first = now;
                sample = r;
            } else if (sample.sha256() == null ? r.sha256() != null : !sample.sha256().equals(r.sha256())) {
                fingerprintsVary = true;
            }
            count++;
            last = now;
        }
    }

    private final AuditTrail trail;
    private final Clock clock;
    private final ConcurrentHashMap<Key, Window> windows = new ConcurrentHashMap<>();

    HandshakeAudit(AuditTrail trail, Clock clock) {
        this.trail = requireNonNull(trail, "trail");
        this.clock = requireNonNull(clock, "clock");
    }

    /** Audits one refused handshake on {@code channel} (whose event loop times its window). */
    void refused(Channel channel, HandshakeFailures.Refusal refusal) {
        requireNonNull(refusal, "refusal");
        Instant now = clock.instant();
        Key own = new Key(refusal.rule(), refusal.presentedId(), false);
        Key key = windows.containsKey(own) || windows.size() < MAX_KEYS ? own : new Key(refusal.rule(), null, true);
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
            write(key, refusal, 1, now, now, false);
            schedule(key, channel.eventLoop());
        }
    }

    /** Writes what the open windows hold (at shutdown, before the trail closes). */
    @Override
    public void close() {
        for (Key key : windows.keySet()) {
            Window w = windows.remove(key);
            if (w != null && w.count > 0) {
                write(key, w.sample, w.count, w.first, w.last, w.fingerprintsVary);
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
            write(key, w.sample, w.count, w.first, w.last, w.fingerprintsVary);
            schedule(key, w.executor);
        }
    }

    private void write(Key key, HandshakeFailures.Refusal r, long count, Instant first, Instant last,
                       boolean fingerprintsVary) {
        String reason = reason(key, r, fingerprintsVary);
        AuditRecord record = AuditRecord.handshakeRefused(clock.instant(), decisionId(), reason, count, first, last);
        if (!trail.offer(record)) {
            trail.refused(record);
        }
        log.info("agent TLS handshake refused ({} time{}): {}", count, count == 1 ? "" : "s", reason);
    }

    private static String reason(Key key, HandshakeFailures.Refusal r, boolean fingerprintsVary) {
        StringBuilder b = new StringBuilder("TLS handshake refused: ").append(key.rule());
        if (key.many()) {
            b.append("; presented IDs: many (over ").append(MAX_KEYS).append(" distinct at a time; unverified)");
        } else if (key.presentedId() != null) {
            b.append("; presented ").append(key.presentedId())
                    .append(r.verified() ? " (verified, not in access.agents)" : " (unverified)");
        }
        if (fingerprintsVary) {
            b.append("; certificates vary");
        } else if (r.sha256() != null) {
            b.append("; certificate sha256 ").append(r.sha256());
        }
        String detail = r.detail();
        if (detail != null && !detail.isEmpty()) {
            b.append("; ").append(detail.length() > MAX_DETAIL_CHARS
                    ? detail.substring(0, MAX_DETAIL_CHARS) + "..." : detail);
        }
        return b.toString();
    }

    private static String decisionId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return String.format("%016x%016x", r.nextLong(), r.nextLong());
    }
}
