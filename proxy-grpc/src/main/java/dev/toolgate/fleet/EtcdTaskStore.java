package dev.toolgate.fleet;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Ticker;
import com.google.protobuf.ByteString;
import dev.toolgate.config.EtcdConfig;
import dev.toolgate.config.FleetConfig;
import dev.toolgate.fleet.etcd.api.Compare;
import dev.toolgate.fleet.etcd.api.LeaseGrantRequest;
import dev.toolgate.fleet.etcd.api.LeaseGrantResponse;
import dev.toolgate.fleet.etcd.api.LeaseRevokeRequest;
import dev.toolgate.fleet.etcd.api.RangeRequest;
import dev.toolgate.fleet.etcd.api.RangeResponse;
import dev.toolgate.fleet.etcd.api.RequestOp;
import dev.toolgate.fleet.etcd.api.TxnRequest;
import dev.toolgate.fleet.etcd.api.TxnResponse;
import dev.toolgate.fleet.v1.StoredEvent;
import dev.toolgate.fleet.v1.TaskKey;
import dev.toolgate.grant.Task;
import dev.toolgate.grant.TaskEvent;
import dev.toolgate.grant.TaskEventCodec;
import dev.toolgate.grant.TaskStore;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The task store of a fleet: every sidecar of the fleet shares one etcd v3 cluster, under one key prefix (layout:
 * {@code src/main/proto/toolgate/fleet/v1/stored.proto}). The task log is a sequence of events, each under its own
 * key; its revision is a counter that every append moves by one in the same etcd transaction that writes the event,
 * and only if no other sidecar moved it first (compare-and-swap, retried on conflict), so revisions are dense and
 * every sidecar sees one order.
 *
 * <ul>
 *   <li>{@link #load} reads the counter and every event at one etcd revision (a consistent snapshot, paged);
 *   <li>{@link #follow} watches the events from the next etcd revision on, on one stream, and hands other sidecars'
 *       events to the listener in order, each once. A stream that breaks is opened again from the revision after the
 *       last one it delivered; if etcd compacted that history meanwhile, the missed events are read from the keys
 *       (they are never deleted before their task's lease ends) before the watch resumes. Nothing is skipped;
 *   <li>{@link #append} returns after the transaction committed. Every key of a task is attached to the task's lease,
 *       which ends {@link TaskStore#RETAIN} after the task expires, so etcd forgets expired tasks by itself;
 *   <li>{@link #healthy} is false while the watch is down or its view older than three progress intervals (before
 *       {@link #follow}: after a failed call to etcd); {@link #staleness} answers why once the view is older than
 *       {@code fleet.maxStaleness}, and every call is then denied.
 * </ul>
 *
 * <p>Values hold a task's token hash only, never a token. Thread-safe; appends of one store are serialized.
 */
public final class EtcdTaskStore implements TaskStore {
    private static final Logger log = LoggerFactory.getLogger(EtcdTaskStore.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Appends that lose the race to other sidecars this often in a row give up (etcd is then far too busy). */
    private static final int MAX_CONFLICTS = 1000;
    /** How often the watch asks etcd how far it is, unless told otherwise. */
    public static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(1);

    private final EtcdClient client;
    private final EtcdKeys keys;
    private final String writer = HexFormat.of().formatHex(randomBytes(12));
    private final Ticker ticker;
    private final Duration progressInterval;
    private final Duration maxStaleness;
    private final long maxStalenessNanos;
    private final Object appends = new Object();
    /** The task log revision this store last saw the counter at (what its next append expects). */
    private long logRevision;
    private boolean loaded;
    private boolean appended;
    private final AtomicLong revision = new AtomicLong();
    private volatile long snapshotEtcdRevision = -1;
    private volatile long loadedRevision = -1;
    private volatile boolean closed;
    private volatile boolean failing;
    private volatile EtcdFeed feed;

    private EtcdTaskStore(EtcdClient client, String prefix, Ticker ticker, Duration progressInterval,
                          Duration maxStaleness) {
        this.client = client;
        this.keys = new EtcdKeys(prefix);
        this.ticker = ticker;
        this.progressInterval = progressInterval;
        this.maxStaleness = maxStaleness;
        this.maxStalenessNanos = maxStaleness.toNanos();
    }

    /**
     * A store on the cluster {@code config} names; nothing is read until {@link #load}.
     *
     * @throws IOException if the TLS files cannot be read
     * @throws IllegalArgumentException if the configuration names no endpoint
     */
    public static EtcdTaskStore open(EtcdConfig config) throws IOException {
        return open(config, FleetConfig.defaults());
    }

    /**
     * A store whose view fails calls closed once older than {@code fleet.maxStaleness()}; its watch asks etcd for
     * progress every second, or five times within that bound when it is shorter.
     *
     * @throws IOException if the TLS files cannot be read
     * @throws IllegalArgumentException if the configuration names no endpoint
     */
    public static EtcdTaskStore open(EtcdConfig config, FleetConfig fleet) throws IOException {
        Duration bound = fleet.maxStaleness();
        Duration fifth = bound.dividedBy(5);
        return open(config, Ticker.systemTicker(), fifth.compareTo(PROGRESS_INTERVAL) < 0 ? fifth : PROGRESS_INTERVAL,
                bound);
    }

    /** A store timed by {@code ticker}, asking for progress every {@code progressInterval} (tests). */
    static EtcdTaskStore open(EtcdConfig config, Ticker ticker, Duration progressInterval, Duration maxStaleness)
            throws IOException {
        requireNonNull(config, "config");
        requireNonNull(ticker, "ticker");
        if (progressInterval.isNegative() || progressInterval.isZero()) {
            throw new IllegalArgumentException("progressInterval: " + progressInterval + " (expected: > 0)");
        }
        if (config.endpoints().isEmpty()) {
            throw new IllegalArgumentException("etcd.endpoints: empty (expected: at least one member's client URL,"
                    + " such as http://127.0.0.1:2379)");
        }
        return new EtcdTaskStore(EtcdClient.open(config), config.prefix(), ticker, progressInterval, maxStaleness);
    }

    @Override
    public Snapshot load() throws IOException {
        synchronized (appends) {
            if (appended) {
                throw new IllegalStateException("load after append (expected: load once, before the first append)");
            }
            checkOpen();
            try {
                RangeResponse head = client.dialing(() -> client.kv().range(RangeRequest.newBuilder()
                        .setKey(keys.seq()).build()));
                long at = head.getHeader().getRevision();
                long seq = head.getKvsCount() == 0 ? 0 : head.getKvs(0).getVersion();
                List<TaskEvent> events = new ArrayList<>();
                EtcdEvents.read(client, keys, keys.events(), at,
                        kv -> events.add(EtcdEvents.decode(keys, kv).event()));
                logRevision = seq;
                loaded = true;
                revision.accumulateAndGet(seq, Math::max);
                loadedRevision = seq;
                snapshotEtcdRevision = at;
                failing = false;
                log.info("task store {}{}: loaded {} events at task log revision {} (etcd revision {})",
                        client.name(), keys.prefix(), events.size(), seq, at);
                return new Snapshot(seq, events);
            } catch (StatusRuntimeException e) {
                failing = true;
                throw client.failure("loading the task log under " + keys.prefix(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(client.name() + ": interrupted while connecting", e);
            }
        }
    }

    /**
     * Delivers other sidecars' events recorded after {@code afterRevision} (the revision {@link #load} returned) on
     * one watch, until the store is closed.
     *
     * @throws IllegalStateException if called before {@link #load}, or twice
     * @throws IllegalArgumentException if {@code afterRevision} is not the revision {@link #load} returned
     */
    @Override
    public void follow(long afterRevision, Listener listener) {
        requireNonNull(listener, "listener");
        synchronized (appends) {
            if (!loaded) {
                throw new IllegalStateException("follow before load (expected: load, then follow from its revision)");
            }
            if (feed != null) {
                throw new IllegalStateException("follow called twice (expected: one listener per store)");
            }
            if (afterRevision != loadedRevision) {
                throw new IllegalArgumentException("afterRevision: " + afterRevision + " (expected: "
                        + loadedRevision + ", the revision load returned)");
            }
            if (closed) {
                return;
            }
            feed = new EtcdFeed(client, keys, writer, afterRevision, snapshotEtcdRevision + 1, listener,
                    heard -> revision.accumulateAndGet(heard, Math::max), ticker, progressInterval);
            feed.start();
        }
    }

    @Override
    public long append(TaskEvent event) throws IOException {
        requireNonNull(event, "event");
        synchronized (appends) {
            checkOpen();
            appended = true;
            long lease = 0;
            try {
                lease = leaseFor(event);
                long rev;
                try {
                    rev = commit(event, lease);
                } catch (StatusRuntimeException e) {
                    if (!leaseGone(e)) {
                        throw e;
                    }
                    // The task's lease ended between looking it up and writing (its task expired long ago).
                    lease = grant(TaskStore.RETAIN);
                    rev = commit(event, lease);
                }
                failing = false;
                return rev;
            } catch (StatusRuntimeException e) {
                failing = true;
                if (event instanceof TaskEvent.Started && lease != 0) {
                    revokeQuietly(lease);
                }
                throw client.failure("recording " + EtcdEvents.describe(event), e);
            }
        }
    }

    /** Writes {@code event} as the next task log revision, retrying while other sidecars take revisions first. */
    private long commit(TaskEvent event, long lease) throws IOException {
        for (int conflicts = 0; conflicts < MAX_CONFLICTS; conflicts++) {
            long next = logRevision + 1;
            TxnRequest.Builder txn = TxnRequest.newBuilder()
                    .addCompare(Compare.newBuilder().setKey(keys.seq()).setTarget(Compare.CompareTarget.VERSION)
                            .setResult(Compare.CompareResult.EQUAL).setVersion(logRevision))
                    .addCompare(Compare.newBuilder().setKey(keys.event(next)).setTarget(Compare.CompareTarget.CREATE)
                            .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
                    .addSuccess(EtcdEvents.put(keys.seq(), ByteString.copyFromUtf8(Long.toString(next)), 0))
                    .addSuccess(EtcdEvents.put(keys.event(next), StoredEvent.newBuilder().setWriter(writer)
                            .setEvent(ByteString.copyFrom(TaskEventCodec.encode(next, event))).build().toByteString(),
                            lease))
                    .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(keys.seq())));
            if (event instanceof TaskEvent.Started s) {
                Task t = s.task();
                TaskKey anchor = TaskKey.newBuilder().setTaskId(t.id()).setSubject(t.subject().uri())
                        .setParentId(t.parentId() == null ? "" : t.parentId()).setExpiresAt(t.expiresAt().toString())
                        .setStartedAtRevision(next).build();
                txn.addSuccess(EtcdEvents.put(keys.task(t.id()), anchor.toByteString(), lease))
                        .addSuccess(EtcdEvents.put(keys.token(t.tokenHash()), ByteString.copyFromUtf8(t.id()), lease));
            }
            TxnResponse r = client.kv().txn(txn.build());
            if (r.getSucceeded()) {
                logRevision = next;
                revision.accumulateAndGet(next, Math::max);
                return next;
            }
            RangeResponse now = r.getResponses(0).getResponseRange();
            long current = now.getKvsCount() == 0 ? 0 : now.getKvs(0).getVersion();
            if (current == logRevision) {
                throw new IOException(client.name() + ": the task log under " + keys.prefix() + " is inconsistent: "
                        + keys.event(next).toStringUtf8() + " exists but the revision counter is at " + current
                        + " (was the counter deleted by hand?)");
            }
            logRevision = current;
        }
        throw new IOException(client.name() + ": recording " + EtcdEvents.describe(event) + " lost the race to other"
                + " sidecars " + MAX_CONFLICTS + " times in a row");
    }

    /** The lease the event's keys are attached to: a new one for a start, else the task's (a new one if gone). */
    private long leaseFor(TaskEvent event) throws IOException {
        if (event instanceof TaskEvent.Started s) {
            return grant(Duration.between(s.at(), s.task().expiresAt()).plus(TaskStore.RETAIN));
        }
        RangeResponse anchor = client.kv().range(RangeRequest.newBuilder().setKey(keys.task(event.taskId())).build());
        if (anchor.getKvsCount() == 1 && anchor.getKvs(0).getLease() != 0) {
            return anchor.getKvs(0).getLease();
        }
        return grant(TaskStore.RETAIN);
    }

    private long grant(Duration ttl) throws IOException {
        long seconds = Math.max(1, ttl.getSeconds() + (ttl.getNano() > 0 ? 1 : 0));
        LeaseGrantResponse r = client.lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(seconds).build());
        if (!r.getError().isEmpty()) {
            throw new IOException(client.name() + ": lease of " + seconds + " s refused: " + r.getError());
        }
        return r.getID();
    }

    private void revokeQuietly(long lease) {
        try {
            client.lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(lease).build());
        } catch (StatusRuntimeException e) {
            log.debug("could not revoke the unused lease {} (it expires by itself)", lease, e);
        }
    }

    private static boolean leaseGone(StatusRuntimeException e) {
        return e.getStatus().getCode() == Status.Code.NOT_FOUND && e.getStatus().getDescription() != null
                && e.getStatus().getDescription().contains("lease not found");
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new IOException("task store " + client.name() + keys.prefix() + " is closed");
        }
    }

    @Override
    public boolean healthy() {
        EtcdFeed f = feed;
        // Once following, the watch tells whether etcd is reachable and the view current (a failed append was
        // reported to its caller); before, the last call does.
        return !closed && (f == null ? !failing : f.healthy());
    }

    /**
     * Null while the view is current; once it is older than {@code fleet.maxStaleness} (etcd unreachable, the watch
     * silent) or incomplete (a stored event could not be read), why, naming the store. Before {@link #follow} there
     * is no view to age. Never blocks.
     */
    @Override
    public String staleness() {
        EtcdFeed f = feed;
        if (f == null) {
            return null;
        }
        if (f.broken()) {
            return "task store " + this + ": its view of the fleet's tasks is incomplete (an event could not be"
                    + " read; see the log); every call is denied";
        }
        long age = f.ageNanos();
        if (age <= maxStalenessNanos) {
            return null;
        }
        return "task store " + this + ": its view is " + age / 1_000_000 + " ms old (fleet.maxStaleness "
                + maxStaleness.toMillis() + " ms); every call is denied until etcd answers again";
    }

    @Override
    public long revision() {
        return revision.get();
    }

    /** The key prefix and endpoints, for messages. */
    @Override
    public String toString() {
        return client.name() + " " + keys.prefix();
    }

    @Override
    public void close() {
        synchronized (appends) {
            if (closed) {
                return;
            }
            closed = true;
        }
        EtcdFeed f = feed;
        if (f != null) {
            f.close();
        }
        client.close();
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }
}
