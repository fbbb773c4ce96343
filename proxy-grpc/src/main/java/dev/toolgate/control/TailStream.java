package dev.toolgate.control;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.toolgate.api.v1.Overflow;
import dev.toolgate.api.v1.TailResponse;
import dev.toolgate.audit.AuditRecord;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code AuditService.Tail} call: a bounded buffer between the audit writer and the gRPC stream.
 *
 * <p>{@link #offer} runs on the audit writer's thread and never waits: a matching record is queued, or, when
 * {@code capacity} records already wait, counted as dropped for this subscriber only. The next record that fits is
 * preceded by an {@code overflow} item with that count, so the subscriber sees exactly where the gap is (a gap at
 * the end is reported once the buffer has drained). Records are sent by {@link #drain} on an executor, only while
 * the transport is ready (gRPC flow control), so a subscriber that stops reading holds at most {@code capacity}
 * records plus what its HTTP/2 window admits. At most one drain runs at a time. Thread-safe.
 */
final class TailStream {
    private static final Logger log = LoggerFactory.getLogger(TailStream.class);

    private sealed interface Item permits Entry, Gap {}

    private record Entry(AuditRecord record, String line) implements Item {}

    private record Gap(long dropped) implements Item {}

    private final TailFilter filter;
    private final ServerCallStreamObserver<TailResponse> out;
    private final Executor executor;
    private final int capacity;
    private final Object lock = new Object();
    @GuardedBy("lock")
    private final ArrayDeque<Item> queue = new ArrayDeque<>();
    @GuardedBy("lock")
    private int queuedRecords;
    @GuardedBy("lock")
    private long dropped;
    @GuardedBy("lock")
    private boolean draining;
    /** Something changed while a drain was running: it must look again before it stops. */
    @GuardedBy("lock")
    private boolean rerun;
    @GuardedBy("lock")
    private Status ending;
    @GuardedBy("lock")
    private boolean finished;

    TailStream(TailFilter filter, ServerCallStreamObserver<TailResponse> out, Executor executor, int capacity) {
        this.filter = filter;
        this.out = out;
        this.executor = executor;
        this.capacity = capacity;
    }

    /** Called by the audit writer with every written record. Never blocks, never throws. */
    void offer(AuditRecord record, String line) {
        if (!filter.matches(record)) {
            return;
        }
        synchronized (lock) {
            if (finished || ending != null) {
                return;
            }
            if (queuedRecords >= capacity) {
                dropped++;
                return;
            }
            if (dropped > 0) {
                queue.add(new Gap(dropped));
                dropped = 0;
            }
            queue.add(new Entry(record, line));
            queuedRecords++;
        }
        schedule();
    }

    /** Ends the call with {@code status} (what is still queued is not sent). */
    void end(Status status) {
        synchronized (lock) {
            if (finished || ending != null) {
                return;
            }
            ending = status;
            queue.clear();
        }
        schedule();
    }

    /** The call was cancelled by the client or the transport: stop at once. */
    void cancelled() {
        synchronized (lock) {
            finished = true;
            queue.clear();
        }
    }

    /** Starts a drain unless one is running (then it is told to look again). Also the call's on-ready handler. */
    void schedule() {
        synchronized (lock) {
            if (finished) {
                return;
            }
            if (draining) {
                rerun = true;
                return;
            }
            draining = true;
        }
        try {
            executor.execute(this::drain);
        } catch (RejectedExecutionException e) {
            // The server is shutting down; the call is being cancelled with it.
            synchronized (lock) {
                draining = false;
            }
        }
    }

    private void drain() {
        try {
            while (true) {
                // Asked outside the lock: isReady may take the transport's own lock.
                boolean ready = out.isReady();
                Item item = null;
                Status end = null;
                synchronized (lock) {
                    if (finished) {
                        draining = false;
                        return;
                    }
                    if (ending != null) {
                        end = ending;
                        finished = true;
                        draining = false;
                    } else if (ready) {
                        item = queue.poll();
                        if (item instanceof Entry) {
                            queuedRecords--;
                        } else if (item == null && dropped > 0) {
                            item = new Gap(dropped);
                            dropped = 0;
                        }
                    }
                    if (item == null && end == null) {
                        if (rerun) {
                            rerun = false;
                            continue;
                        }
                        // Not ready (the on-ready handler schedules the next drain) or nothing left.
                        draining = false;
                        return;
                    }
                }
                if (end != null) {
                    out.onError(end.asRuntimeException());
                    return;
                }
                out.onNext(message(item));
            }
        } catch (RuntimeException e) {
            log.warn("audit tail stream failed; ending it", e);
            synchronized (lock) {
                finished = true;
                draining = false;
                queue.clear();
            }
            try {
                out.onError(Status.INTERNAL.withDescription("the audit tail failed").asRuntimeException());
            } catch (RuntimeException ignored) {
                // already closed
            }
        }
    }

    private static TailResponse message(Item item) {
        if (item instanceof Entry e) {
            return TailResponse.newBuilder().setRecord(AuditMessages.record(e.record(), e.line())).build();
        }
        Gap g = (Gap) item;
        return TailResponse.newBuilder().setOverflow(Overflow.newBuilder().setDropped(g.dropped())).build();
    }
}
