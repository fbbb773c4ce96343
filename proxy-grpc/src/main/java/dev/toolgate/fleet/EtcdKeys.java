package dev.toolgate.fleet;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;

/**
 * The key layout under one prefix (see {@code toolgate/fleet/v1/stored.proto}): the task log's revision counter,
 * its events by zero-padded revision (so key order is revision order), and each task's anchor and token-hash keys.
 * Immutable.
 */
final class EtcdKeys {
    private static final int DIGITS = 20;

    private final String prefix;
    private final ByteString seq;
    private final ByteString events;
    private final ByteString eventsEnd;

    EtcdKeys(String prefix) {
        this.prefix = prefix;
        this.seq = utf8(prefix + "seq");
        this.events = utf8(prefix + "events/");
        this.eventsEnd = rangeEnd(events);
    }

    String prefix() {
        return prefix;
    }

    /** The counter whose etcd version is the task log's revision. */
    ByteString seq() {
        return seq;
    }

    /** The first key of the events range. */
    ByteString events() {
        return events;
    }

    /** The end (exclusive) of the events range. */
    ByteString eventsEnd() {
        return eventsEnd;
    }

    ByteString event(long revision) {
        String digits = Long.toString(revision);
        return utf8(prefix + "events/" + "0".repeat(DIGITS - digits.length()) + digits);
    }

    ByteString task(String taskId) {
        return utf8(prefix + "tasks/" + taskId);
    }

    ByteString token(String tokenHash) {
        return utf8(prefix + "tokens/" + tokenHash);
    }

    /** The smallest key after every key that starts with {@code key} (etcd's "prefix" range end). */
    static ByteString rangeEnd(ByteString key) {
        byte[] b = key.toByteArray();
        for (int i = b.length - 1; i >= 0; i--) {
            if (b[i] != (byte) 0xff) {
                b[i]++;
                return ByteString.copyFrom(b, 0, i + 1);
            }
        }
        return ByteString.copyFrom(new byte[] {0}); // every key
    }

    private static ByteString utf8(String s) {
        return ByteString.copyFrom(s, StandardCharsets.UTF_8);
    }
}
