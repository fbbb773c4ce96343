package dev.toolgate.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Repairs a torn tail of an audit file at start-up, before the trail opens it: a crash (kill -9, power loss) in the
 * middle of a write leaves a last line that is not a whole record. That tail is copied to a side file beside the
 * audit file ({@code <name>.torn-<UTC time>}, synced), the audit file is cut back to its last whole record
 * (synced), and the trail's first record is a {@code gap} record with {@code event: torn_tail} naming the side
 * file, its size and its SHA-256, chained to the last whole record, so {@code audit verify} passes on the file and
 * the torn bytes are kept.
 *
 * <p>Only the last line can be torn: torn means it does not parse as JSON, has no {@code hash} or
 * {@code prev_hash}, or lacks its line break and its hash does not verify (the same rule as
 * {@link AuditVerifier}). A last record that is whole and only lost its line break gets the line break back. A bad
 * line before the last one is not touched, and a torn last line after one is not moved (the start fails): that is
 * a broken chain for a person to look at.
 *
 * <p>A crash during the repair is safe to repeat: the side file is written before the cut, so at worst a second side
 * file with the same bytes appears. Stateless; not for concurrent use on the same file.
 */
final class TornTail {
    private static final Logger log = LoggerFactory.getLogger(TornTail.class);
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    /** No record is this long: a longer last line is torn without being parsed (it is not read into memory). */
    private static final long MAX_RECORD_BYTES = 16L * 1024 * 1024;
    private static final int CHUNK = 8192;

    private TornTail() {}

    /**
     * Moves a torn tail of {@code file} aside and cuts the file back to its last whole record.
     *
     * @return the side file, or empty if the file is missing, empty or ends in a whole record
     * @throws IOException if the file cannot be read, the side file cannot be created, or the cut fails
     */
    static Optional<AuditRecord.SideFile> moveAside(Path file, Clock clock) throws IOException {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            if (size == 0) {
                return Optional.empty();
            }
            boolean terminated = byteAt(ch, size - 1) == '\n';
            long end = size;
            while (end > 0 && byteAt(ch, end - 1) == '\n') {
                end--;
            }
            long start = lineStart(ch, end);
            if (start == end) {
                return Optional.empty();
            }
            if (!torn(ch, start, end, terminated)) {
                if (!terminated) {
                    ch.write(ByteBuffer.wrap(new byte[] {'\n'}), size);
                    ch.force(false);
                }
                return Optional.empty();
            }
            if (!wholeRecordBefore(ch, start)) {
                throw new IOException(file + ": the last line is torn and the line before it is not a record either "
                        + "(more than a crash's torn tail); nothing was moved; run 'toolgate audit verify " + file + "'");
            }
            Path side = file.resolveSibling(file.getFileName() + ".torn-" + STAMP.format(clock.instant()));
            String sha256 = copy(ch, start, size, side);
            ch.truncate(start);
            ch.force(true);
            AuditRecord.SideFile moved = new AuditRecord.SideFile(side.getFileName().toString(), size - start, sha256);
            log.warn("audit file {} ended in a torn line ({} bytes, a write cut short by a crash); moved to {}",
                    file, moved.bytes(), side);
            return Optional.of(moved);
        }
    }

    /**
     * Writes the torn-tail record chained to {@code head} through {@code sink} and flushes it.
     *
     * @return the new chain head
     * @throws IOException if the sink fails
     */
    static String writeRecord(AuditSink sink, String head, AuditRecord.SideFile moved, Path file, Clock clock)
            throws IOException {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        String id = HexFormat.of().toHexDigits(rnd.nextLong()) + HexFormat.of().toHexDigits(rnd.nextLong());
        String reason = "the last line of " + file.getFileName() + " was not a whole record (a write cut short by a "
                + "crash); its " + moved.bytes() + " bytes were moved to " + moved.name()
                + " and the chain continues from the last whole record";
        AuditCodec codec = new AuditCodec();
        sink.write(codec.encode(AuditRecord.tornTail(clock.instant(), id, moved, reason),
                head == null ? AuditCodec.GENESIS : head));
        sink.flush();
        return codec.lastHash();
    }

    private static boolean torn(FileChannel ch, long start, long end, boolean terminated) throws IOException {
        if (end - start > MAX_RECORD_BYTES) {
            return true;
        }
        String line = new String(read(ch, start, (int) (end - start)), StandardCharsets.UTF_8);
        JsonNode node;
        try {
            node = AuditCodec.parse(line);
        } catch (IOException e) {
            return true;
        }
        if (node == null || !node.hasNonNull("hash") || !node.hasNonNull("prev_hash")) {
            return true;
        }
        return !terminated && !AuditCodec.rehash(node).equals(node.get("hash").asText());
    }

    /** Whether the line that ends before {@code start} is a whole record, or there is none (a file of one line). */
    private static boolean wholeRecordBefore(FileChannel ch, long start) throws IOException {
        long end = start;
        while (end > 0 && byteAt(ch, end - 1) == '\n') {
            end--;
        }
        return end == 0 || !torn(ch, lineStart(ch, end), end, true);
    }

    /** Copies bytes {@code [start, end)} to a new, synced {@code side} file; returns their SHA-256 (hex). */
    private static String copy(FileChannel ch, long start, long end, Path side) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
        try (FileChannel out = FileChannel.open(side, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocate(CHUNK);
            for (long pos = start; pos < end; ) {
                buf.clear().limit((int) Math.min(CHUNK, end - pos));
                int n = ch.read(buf, pos);
                if (n < 0) {
                    throw new IOException(side + ": the audit file shrank while its torn tail was copied");
                }
                buf.flip();
                sha.update(buf.duplicate());
                while (buf.hasRemaining()) {
                    out.write(buf);
                }
                pos += n;
            }
            out.force(true);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Where the line that ends at {@code end} starts: after the last line break before it, or 0. */
    private static long lineStart(FileChannel ch, long end) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        long pos = end;
        while (pos > 0) {
            int len = (int) Math.min(CHUNK, pos);
            buf.clear().limit(len);
            readFully(ch, buf, pos - len);
            for (int i = len - 1; i >= 0; i--) {
                if (buf.get(i) == '\n') {
                    return pos - len + i + 1;
                }
            }
            pos -= len;
        }
        return 0;
    }

    private static int byteAt(FileChannel ch, long pos) throws IOException {
        return read(ch, pos, 1)[0];
    }

    private static byte[] read(FileChannel ch, long pos, int len) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(len);
        readFully(ch, buf, pos);
        return buf.array();
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        long at = pos;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, at);
            if (n < 0) {
                throw new IOException("unexpected end of file at " + at);
            }
            at += n;
        }
    }
}
