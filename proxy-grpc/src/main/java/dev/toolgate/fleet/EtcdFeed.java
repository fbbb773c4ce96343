package dev.toolgate.fleet;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.fleet.etcd.api.Event;
import dev.toolgate.fleet.etcd.api.KeyValue;
import dev.toolgate.fleet.etcd.api.WatchCreateRequest;
import dev.toolgate.fleet.etcd.api.WatchProgressRequest;
import dev.toolgate.fleet.etcd.api.WatchRequest;
import dev.toolgate.fleet.etcd.api.WatchResponse;
import dev.toolgate.grant.TaskStore;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one watch of an {@link EtcdTaskStore} on its events: opened at the etcd revision after the snapshot, opened
 * again after any break from the revision after the last event it saw (with a growing pause between attempts), and,
 * when etcd compacted that history meanwhile, preceded by reading the missed events from their keys. Events of other
 * writers go to the listener in task log order, each once; the store's own are skipped. Every second or so
 * ({@code progressInterval}) it asks etcd how far it is; the answer proves the view current, and a stream that
 * stays silent for three intervals is taken as broken and opened again.
 *
 * <p>Thread-safety: all work (responses, reopening, reloading, delivering) runs on one thread of its own, so the
 * listener is called from that thread only and never concurrently; {@link #healthy}, {@link #ageNanos} and
 * {@link #close} may be called from any thread.
 */
final class EtcdFeed implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EtcdFeed.class);
    private static final long MIN_PAUSE_MS = 50;
    private static final long MAX_PAUSE_MS = 1000;

    private final EtcdClient client;
    private final EtcdKeys keys;
    private final String writer;
    private final TaskStore.Listener listener;
    private final LongConsumer heard;
    private final Ticker ticker;
    private final long progressNanos;
    private final ScheduledExecutorService thread;

    // Confined to the feed's thread.
    private long nextEtcdRevision;
    private long lastRevision;
    private int generation;
    private ClientCallStreamObserver<WatchRequest> requests;
    private long pauseMs = MIN_PAUSE_MS;

    private volatile boolean connected;
    private volatile boolean broken;
    private volatile boolean closed;
    private volatile long heardAt;

    EtcdFeed(EtcdClient client, EtcdKeys keys, String writer, long afterRevision, long fromEtcdRevision,
             TaskStore.Listener listener, LongConsumer heard, Ticker ticker, Duration progressInterval) {
        this.client = client;
        this.keys = keys;
        this.writer = writer;
        this.lastRevision = afterRevision;
        this.nextEtcdRevision = fromEtcdRevision;
        this.listener = listener;
        this.heard = heard;
        this.ticker = ticker;
        this.progressNanos = progressInterval.toNanos();
        this.heardAt = ticker.read();
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "etcd-feed " + keys.prefix());
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        thread.execute(this::connect);
        thread.scheduleWithFixedDelay(this::tick, progressNanos, progressNanos, TimeUnit.NANOSECONDS);
    }

    /** The watch is open and has answered within three progress intervals. */
    boolean healthy() {
        return connected && !broken && !closed && ageNanos() <= 3 * progressNanos;
    }

    /** Whether an event that could not be read stopped the feed for good. */
    boolean broken() {
        return broken;
    }

    /** Nanoseconds since the watch last answered (or since it was first opened). */
    long ageNanos() {
        return Math.max(0, ticker.read() - heardAt);
    }

    private void connect() {
        if (closed || broken) {
            return;
        }
        int gen = ++generation;
        client.reconnectNow();
        requests = (ClientCallStreamObserver<WatchRequest>) client.watch().watch(new Responses(gen));
        requests.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                .setKey(keys.events()).setRangeEnd(keys.eventsEnd()).setStartRevision(nextEtcdRevision)
                .setProgressNotify(true).addFilters(WatchCreateRequest.FilterType.NODELETE)).build());
    }

    private void handle(WatchResponse r) {
        if (r.getCreated()) {
            if (!connected && generation > 1) {
                log.info("etcd watch on {} open again from etcd revision {}", keys.prefix(), nextEtcdRevision);
            }
            connected = true;
            pauseMs = MIN_PAUSE_MS;
        }
        if (r.getCanceled()) {
            if (r.getCompactRevision() > 0) {
                reloadAfterCompaction(r.getCompactRevision());
                return;
            }
            lose("etcd cancelled the watch" + (r.getCancelReason().isEmpty() ? "" : ": " + r.getCancelReason()));
            return;
        }
        for (Event e : r.getEventsList()) {
            if (e.getType() == Event.EventType.PUT && !accept(e.getKv())) {
                return;
            }
            nextEtcdRevision = Math.max(nextEtcdRevision, e.getKv().getModRevision() + 1);
        }
        if (r.getEventsCount() == 0 && !r.getCreated()) {
            // Progress: every later event of this stream has a higher revision than the header's.
            nextEtcdRevision = Math.max(nextEtcdRevision, r.getHeader().getRevision() + 1);
        }
        // Only now, with what it said applied, is the view as current as etcd's answer.
        heardAt = ticker.read();
    }

    /** Delivers one stored event unless seen or the store's own; false if the feed broke on it. */
    private boolean accept(KeyValue kv) {
        EtcdEvents.Decoded d;
        try {
            d = EtcdEvents.decode(keys, kv);
        } catch (IOException e) {
            // Skipping a value we cannot read could skip a revocation: stop trusting the view instead.
            breakOn(e);
            return false;
        }
        if (d.revision() <= lastRevision) {
            return true;
        }
        lastRevision = d.revision();
        heard.accept(d.revision());
        if (!d.writer().equals(writer)) {
            try {
                listener.changed(d.revision(), d.event());
            } catch (RuntimeException e) {
                breakOn(new IOException("the task registry failed to apply revision " + d.revision() + ": " + e, e));
                return false;
            }
        }
        return true;
    }

    /** etcd no longer has the history after our last event: read the missed events from their keys, then resume. */
    private void reloadAfterCompaction(long compactRevision) {
        log.warn("etcd compacted the history of {} up to revision {} while its watch was away (wanted {}): reading"
                + " the events after task log revision {} from their keys", keys.prefix(), compactRevision,
                nextEtcdRevision, lastRevision);
        cancelStream("reloading after compaction");
        long at;
        try {
            at = EtcdEvents.read(client, keys, keys.event(lastRevision + 1), 0, kv -> {
                if (!accept(kv)) {
                    throw new IOException("stopped");
                }
            });
        } catch (StatusRuntimeException | IOException e) {
            if (!broken) {
                lose("reading the events after a compaction failed: " + e.getMessage());
            }
            return;
        }
        nextEtcdRevision = at + 1;
        connect();
    }

    private void tick() {
        if (closed || broken) {
            return;
        }
        if (connected && ticker.read() - heardAt > 3 * progressNanos) {
            lose("no answer from etcd for " + Duration.ofNanos(ticker.read() - heardAt).toMillis() + " ms");
            return;
        }
        if (connected && requests != null) {
            try {
                requests.onNext(WatchRequest.newBuilder().setProgressRequest(WatchProgressRequest.getDefaultInstance())
                        .build());
            } catch (RuntimeException e) {
                lose("asking etcd for progress failed: " + e);
            }
        }
    }

    /** The stream broke: open it again after a pause, from the revision after the last event seen. */
    private void lose(String why) {
        if (closed) {
            return;
        }
        if (connected) {
            log.warn("etcd watch on {} lost ({}); opening it again from etcd revision {}", keys.prefix(), why,
                    nextEtcdRevision);
        } else {
            log.debug("etcd watch on {} not open ({})", keys.prefix(), why);
        }
        connected = false;
        cancelStream(why);
        generation++; // what the old stream still says is ignored
        thread.schedule(this::connect, pauseMs, TimeUnit.MILLISECONDS);
        pauseMs = Math.min(MAX_PAUSE_MS, pauseMs * 2);
    }

    private void breakOn(IOException e) {
        log.error("etcd watch on {} stopped: the view of the fleet's tasks is no longer complete", keys.prefix(), e);
        broken = true;
        connected = false;
        cancelStream("broken");
        listener.lost(e);
    }

    private void cancelStream(String why) {
        ClientCallStreamObserver<WatchRequest> r = requests;
        requests = null;
        if (r != null) {
            try {
                r.cancel(why, null);
            } catch (RuntimeException ignored) {
                // already closed
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        connected = false;
        thread.execute(() -> cancelStream("closed"));
        thread.shutdown();
        try {
            if (!thread.awaitTermination(5, TimeUnit.SECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            thread.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private final class Responses implements StreamObserver<WatchResponse> {
        private final int gen;

        Responses(int gen) {
            this.gen = gen;
        }

        @Override
        public void onNext(WatchResponse r) {
            run(() -> handle(r));
        }

        @Override
        public void onError(Throwable t) {
            run(() -> lose(t instanceof StatusRuntimeException s ? s.getStatus().getCode()
                    + (s.getStatus().getDescription() == null ? "" : " " + s.getStatus().getDescription())
                    : t.toString()));
        }

        @Override
        public void onCompleted() {
            run(() -> lose("etcd ended the watch"));
        }

        private void run(Runnable r) {
            if (closed) {
                return;
            }
            try {
                thread.execute(() -> {
                    if (gen == generation && !closed && !broken) {
                        r.run();
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                // the feed is closing
            }
        }
    }
}
