package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live tail: every written audit record fanned out to subscribers, each with its own bounded buffer and
 * filter. A slow subscriber never slows the writer or the data plane: when its buffer is full, records are
 * skipped for that subscriber only and counted, and it learns how many it missed ({@link Subscription#missed()}).
 * Nothing is dropped from the audit trail itself. Thread-safe.
 */
public final class AuditTail {
    private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();

    private AuditTail() {}

    /** A tail fed by {@code trail}. */
    public static AuditTail of(AuditTrail trail) {
        AuditTail tail = new AuditTail();
        trail.subscribeRecords(tail::publish);
        return tail;
    }

    /** Which records a subscriber wants; a null field matches anything. */
    public record Filter(String agent, String taskId, String route, String decision, String code) {
        public static final Filter ALL = new Filter(null, null, null, null, null);

        boolean matches(AuditRecord r) {
            return (agent == null || agent.equals(r.agent()))
                    && (taskId == null || taskId.equals(r.taskId()))
                    && (route == null || route.equals(r.route()))
                    && (decision == null || decision.equals(r.decision()))
                    && (code == null || code.equals(r.code()));
        }
    }

    /**
     * Subscribes with a buffer of {@code capacity} lines.
     *
     * @throws IllegalArgumentException if capacity is not positive
     */
    public Subscription subscribe(Filter filter, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: > 0)");
        }
        Subscription s = new Subscription(this, requireNonNull(filter, "filter"), capacity);
        subscriptions.add(s);
        return s;
    }

    public int subscribers() {
        return subscriptions.size();
    }

    private void publish(AuditRecord record, String line) {
        for (Subscription s : subscriptions) {
            if (s.filter.matches(record) && !s.lines.offer(line)) {
                s.missed.incrementAndGet();
            }
        }
    }

    /** One subscriber's view: poll lines in order; {@link #missed()} counts what its full buffer skipped. */
    public static final class Subscription implements AutoCloseable {
        private final AuditTail tail;
        private final Filter filter;
        private final BlockingQueue<String> lines;
        private final AtomicLong missed = new AtomicLong();

        private Subscription(AuditTail tail, Filter filter, int capacity) {
            this.tail = tail;
            this.filter = filter;
            this.lines = new ArrayBlockingQueue<>(capacity);
        }

        /** The next line, waiting up to {@code timeout}; null if none came. */
        public String poll(long timeout, TimeUnit unit) throws InterruptedException {
            return lines.poll(timeout, unit);
        }

        /** How many matching records were skipped because this subscriber's buffer was full. */
        public long missed() {
            return missed.get();
        }

        @Override
        public void close() {
            tail.subscriptions.remove(this);
        }
    }
}
