package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The one encoding of a {@link TaskEvent} for stores outside this package (a shared store keeps each event as one
 * value): the journal's line format ({@code JournalCodec}: compact JSON with the revision, the event's fields and a
 * CRC32C over the bytes), so an event reads the same in a journal file and in a shared store, and decoding is as
 * strict (unknown types and fields refused). Stateless and thread-safe.
 */
public final class TaskEventCodec {
    private TaskEventCodec() {}

    /** An event and the store revision it was recorded at. */
    public record Recorded(long revision, TaskEvent event) {
        public Recorded {
            if (revision < 1) {
                throw new IllegalArgumentException("revision: " + revision + " (expected: >= 1)");
            }
            requireNonNull(event, "event");
        }
    }

    /** The bytes recording {@code event} at {@code revision} (UTF-8 JSON, ending in a newline). */
    public static byte[] encode(long revision, TaskEvent event) {
        if (revision < 1) {
            throw new IllegalArgumentException("revision: " + revision + " (expected: >= 1)");
        }
        return JournalCodec.encode(revision, requireNonNull(event, "event"));
    }

    /**
     * Decodes what {@link #encode} wrote (a trailing newline is optional).
     *
     * @throws IOException if the bytes are damaged (CRC, JSON) or do not hold one event of this format; the message
     *     says which
     */
    public static Recorded decode(byte[] bytes) throws IOException {
        requireNonNull(bytes, "bytes");
        int length = bytes.length;
        if (length > 0 && bytes[length - 1] == '\n') {
            length--;
        }
        JournalCodec.Line line;
        try {
            line = JournalCodec.decode(bytes, length);
        } catch (JournalCodec.DamagedException | JournalCodec.InvalidException e) {
            throw new IOException("not a task event: " + e.getMessage() + " ("
                    + preview(bytes, length) + ")", e);
        }
        if (line instanceof JournalCodec.Entry entry) {
            return new Recorded(entry.rev(), entry.event());
        }
        throw new IOException("not a task event: a journal compaction marker (" + preview(bytes, length) + ")");
    }

    private static String preview(byte[] bytes, int length) {
        int n = Math.min(length, 80);
        return new String(bytes, 0, n, StandardCharsets.UTF_8) + (length > n ? "..." : "");
    }
}
