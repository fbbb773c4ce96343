package dev.toolgate.control;

import dev.toolgate.api.v1.TailResponse;
import dev.toolgate.audit.AuditRecord;
import dev.toolgate.audit.AuditTrail;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * Fans every record the audit trail writes out to the open tail streams. Subscribed to the trail once (one cheap
 * callback on the writer thread per record, whatever the number of streams); each stream filters and buffers on
 * its own ({@link TailStream}). Thread-safe.
 */
final class TailHub implements AutoCloseable {
    /** Open tails at most: each adds work to the audit writer's thread. */
    static final int MAX_STREAMS = 64;

    private final AuditTrail trail;
    private final int capacity;
    private final List<TailStream> streams = new CopyOnWriteArrayList<>();
    private final ExecutorService executor;
    private final BiConsumer<AuditRecord, String> listener = this::publish;
    private volatile boolean closed;

    private TailHub(AuditTrail trail, int capacity) {
        this.trail = trail;
        this.capacity = capacity;
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "toolgate-audit-tail-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** A hub fed by {@code trail}, each stream buffering up to {@code capacity} records. */
    static TailHub open(AuditTrail trail, int capacity) {
        TailHub hub = new TailHub(trail, capacity);
        trail.subscribeRecords(hub.listener);
        return hub;
    }

    /**
     * Opens a stream on the call {@code out} (must be called inside the RPC method, before it returns).
     *
     * @return null with the call already closed ({@code RESOURCE_EXHAUSTED} or {@code UNAVAILABLE}) when no stream
     *     can be opened
     */
    TailStream open(TailFilter filter, ServerCallStreamObserver<TailResponse> out) {
        TailStream s = new TailStream(filter, out, executor, capacity);
        out.setOnCancelHandler(() -> {
            s.cancelled();
            streams.remove(s);
        });
        out.setOnReadyHandler(s::schedule);
        if (closed) {
            out.onError(Status.UNAVAILABLE.withDescription("the sidecar is shutting down").asRuntimeException());
            return null;
        }
        if (streams.size() >= MAX_STREAMS) {
            out.onError(Status.RESOURCE_EXHAUSTED.withDescription(MAX_STREAMS
                    + " audit tails are open, the maximum; close one first").asRuntimeException());
            return null;
        }
        streams.add(s);
        return s;
    }

    int subscribers() {
        return streams.size();
    }

    private void publish(AuditRecord record, String line) {
        for (TailStream s : streams) {
            s.offer(record, line);
        }
    }

    /** Stops listening to the trail and ends every open stream with {@code UNAVAILABLE}. */
    @Override
    public void close() {
        closed = true;
        trail.unsubscribeRecords(listener);
        for (TailStream s : streams) {
            s.end(Status.UNAVAILABLE.withDescription("the sidecar is shutting down"));
        }
        streams.clear();
        executor.shutdown();
    }
}
