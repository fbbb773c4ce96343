package dev.toolgate.fleet;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.toolgate.fleet.etcd.api.KeyValue;
import dev.toolgate.fleet.etcd.api.PutRequest;
import dev.toolgate.fleet.etcd.api.RangeRequest;
import dev.toolgate.fleet.etcd.api.RangeResponse;
import dev.toolgate.fleet.etcd.api.RequestOp;
import dev.toolgate.fleet.v1.StoredEvent;
import dev.toolgate.grant.TaskEvent;
import dev.toolgate.grant.TaskEventCodec;
import java.io.IOException;

/**
 * The events/ keys of the task log: paged range reads at one etcd revision, the put of a value, and the strict
 * decoding of a stored event. Stateless and thread-safe.
 */
final class EtcdEvents {
    /** Events read per range request. */
    static final int PAGE = 500;

    private EtcdEvents() {}

    /** Takes one stored key-value. */
    interface KeyValueSink {
        void accept(KeyValue kv) throws IOException;
    }

    /**
     * Reads the events from key {@code from} to the end of the range at etcd revision {@code at} (0: the newest),
     * page by page, and returns the revision read at.
     */
    static long read(EtcdClient client, EtcdKeys keys, ByteString from, long at, KeyValueSink sink)
            throws IOException {
        ByteString key = from;
        long revisionRead = at;
        while (true) {
            RangeResponse page = client.kv().range(RangeRequest.newBuilder().setKey(key).setRangeEnd(keys.eventsEnd())
                    .setRevision(revisionRead).setLimit(PAGE).build());
            if (revisionRead == 0) {
                revisionRead = page.getHeader().getRevision();
            }
            for (KeyValue kv : page.getKvsList()) {
                sink.accept(kv);
            }
            if (!page.getMore() || page.getKvsCount() == 0) {
                return revisionRead;
            }
            key = page.getKvs(page.getKvsCount() - 1).getKey().concat(ByteString.copyFrom(new byte[] {0}));
        }
    }

    static RequestOp put(ByteString key, ByteString value, long lease) {
        return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key).setValue(value)
                .setLease(lease)).build();
    }

    /** One stored event: its task log revision, the event, and which store instance wrote it. */
    record Decoded(long revision, TaskEvent event, String writer) {}

    /**
     * Decodes an events/ key-value.
     *
     * @throws IOException naming the key if it does not hold an event of this format at the revision its key names
     */
    static Decoded decode(EtcdKeys keys, KeyValue kv) throws IOException {
        String key = kv.getKey().toStringUtf8();
        try {
            StoredEvent stored = StoredEvent.parseFrom(kv.getValue());
            TaskEventCodec.Recorded recorded = TaskEventCodec.decode(stored.getEvent().toByteArray());
            if (!keys.event(recorded.revision()).equals(kv.getKey())) {
                throw new IOException("holds revision " + recorded.revision());
            }
            return new Decoded(recorded.revision(), recorded.event(), stored.getWriter());
        } catch (InvalidProtocolBufferException e) {
            throw new IOException("task store key " + key + ": not a toolgate.fleet.v1.StoredEvent: "
                    + e.getMessage(), e);
        } catch (IOException e) {
            throw new IOException("task store key " + key + ": " + e.getMessage(), e);
        }
    }

    static String describe(TaskEvent event) {
        if (event instanceof TaskEvent.Started s) {
            return "the start of task " + s.taskId();
        } else if (event instanceof TaskEvent.Ended e) {
            return "that task " + e.taskId() + " is " + e.state().json();
        }
        TaskEvent.GrantRevoked g = (TaskEvent.GrantRevoked) event;
        return "the revocation of grant " + g.grantId() + " of task " + g.taskId();
    }
}
