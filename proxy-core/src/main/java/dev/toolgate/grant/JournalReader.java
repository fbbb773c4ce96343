package dev.toolgate.grant;

import dev.toolgate.grant.JournalCodec.DamagedException;
import dev.toolgate.grant.JournalCodec.Entry;
import dev.toolgate.grant.JournalCodec.InvalidException;
import dev.toolgate.grant.JournalCodec.Line;
import dev.toolgate.grant.JournalCodec.Marker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a journal file and checks every line of it. A record counts only once its newline is written: an
 * unterminated last line, and a last line that is damaged (not JSON, or failing its CRC), is what a write cut
 * short by a crash leaves, and is reported as {@link Torn} for the caller to cut off. Anything else that is wrong
 * (a damaged line before the last, a line this version does not understand, a revision out of sequence, a
 * compaction marker anywhere but first or missing some of the records it promises) is corruption and fails the
 * read with an {@link IOException} naming the file and line.
 *
 * <p>Revisions: without a marker they run 1, 2, 3, ...; after a marker at revision R promising k kept records,
 * the next k records have strictly increasing revisions up to R (the originals of what a compaction kept), and
 * from then on they run R+1, R+2, ... Not thread-safe: one use per open.
 */
final class JournalReader {
    private static final int CHUNK = 64 * 1024;

    private final Path file;
    private final long fileBytes;
    private final List<Entry> entries = new ArrayList<>();
    private Marker marker;
    private long keptLeft;
    private long last;
    private long next = 1;
    private int lineNo;
    private long validBytes;
    private Torn torn;

    private JournalReader(Path file, long fileBytes) {
        this.file = file;
        this.fileBytes = fileBytes;
    }

    /**
     * What a read found.
     *
     * @param marker     the compaction marker on line 1, or null
     * @param entries    every intact record, in file order
     * @param revision   the last revision recorded (the marker's when no record follows it; 0 when none)
     * @param validBytes where the intact records end: the length the file must be cut to if {@code torn != null}
     * @param torn       the torn last line, or null
     */
    record Contents(Marker marker, List<Entry> entries, long revision, long validBytes, Torn torn) {
        /** The number of event records (the marker not counted). */
        int records() {
            return entries.size();
        }
    }

    /**
     * A last line cut short.
     *
     * @param line   its 1-based line number
     * @param bytes  its length in bytes, newline included if any
     * @param reason what is wrong with it
     */
    record Torn(int line, long bytes, String reason) {}

    /**
     * Reads {@code file}, which must exist and must not change while it is read.
     *
     * @throws IOException if it cannot be read, or naming the file and line if it is corrupt
     */
    static Contents read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            JournalReader r = new JournalReader(file, ch.size());
            r.scan(Channels.newInputStream(ch));
            return r.finish();
        }
    }

    private void scan(InputStream in) throws IOException {
        byte[] chunk = new byte[CHUNK];
        byte[] line = new byte[1024];
        int len = 0;
        long lineStart = 0;
        long offset = 0;
        boolean overlong = false;
        int n;
        while ((n = in.read(chunk)) > 0) {
            for (int i = 0; i < n; i++) {
                byte b = chunk[i];
                offset++;
                if (b != '\n') {
                    if (len == JournalCodec.MAX_LINE) {
                        overlong = true; // keep looking for the newline, but hold no more of the line
                    } else {
                        if (len == line.length) {
                            line = Arrays.copyOf(line, Math.min(line.length * 2, JournalCodec.MAX_LINE));
                        }
                        line[len++] = b;
                    }
                    continue;
                }
                lineNo++;
                accept(line, len, overlong, offset - lineStart);
                validBytes = torn == null ? offset : validBytes;
                len = 0;
                overlong = false;
                lineStart = offset;
            }
        }
        if (offset != fileBytes) {
            throw new IOException(file + ": changed while it was read (" + offset + " bytes read, expected "
                    + fileBytes + ")");
        }
        if (offset > lineStart) {
            torn = new Torn(lineNo + 1, offset - lineStart, "no newline at its end");
        }
    }

    private void accept(byte[] line, int len, boolean overlong, long bytes) throws IOException {
        Line decoded;
        try {
            if (overlong) {
                throw new DamagedException("longer than " + JournalCodec.MAX_LINE + " bytes", null);
            }
            decoded = JournalCodec.decode(line, len);
        } catch (DamagedException e) {
            if (validBytes + bytes == fileBytes) {
                torn = new Torn(lineNo, bytes, e.getMessage());
                return;
            }
            throw corrupt("damaged record: " + e.getMessage(), e);
        } catch (InvalidException e) {
            throw corrupt("not a record this version understands: " + e.getMessage(), e);
        }
        if (decoded instanceof Marker m) {
            marker(m);
        } else if (decoded instanceof Entry e) {
            entry(e);
        }
    }

    private void marker(Marker m) throws IOException {
        if (lineNo != 1) {
            throw corrupt("compaction marker (expected: only on line 1)", null);
        }
        if (m.kept() > m.rev()) {
            throw corrupt("compaction marker keeps " + m.kept() + " records of " + m.rev()
                    + " (expected: at most as many as it compacted)", null);
        }
        marker = m;
        keptLeft = m.kept();
        next = m.rev() + 1;
    }

    private void entry(Entry e) throws IOException {
        long rev = e.rev();
        if (keptLeft > 0) {
            if (rev <= last || rev > marker.rev()) {
                throw corrupt("revision " + rev + " (expected: a kept record between " + (last + 1) + " and "
                        + marker.rev() + "; the compaction marker on line 1 promises " + keptLeft + " more)", null);
            }
            keptLeft--;
        } else {
            if (rev != next) {
                throw corrupt("revision " + rev + " (expected: " + next + ")", null);
            }
            next++;
        }
        last = rev;
        entries.add(e);
    }

    private Contents finish() throws IOException {
        if (keptLeft > 0) {
            throw new IOException(file + ": the compaction marker on line 1 promises " + marker.kept()
                    + " kept records but only " + (marker.kept() - keptLeft) + " follow it" + REFUSAL);
        }
        return new Contents(marker, List.copyOf(entries), next - 1, validBytes, torn);
    }

    private static final String REFUSAL = "; the journal is corrupt and is not opened with a partial view of task"
            + " state (restore it, or move it away to start with no tasks: every task token then stops working)";

    private IOException corrupt(String reason, Exception cause) {
        return new IOException(file + ": line " + lineNo + ": " + reason + REFUSAL, cause);
    }
}
