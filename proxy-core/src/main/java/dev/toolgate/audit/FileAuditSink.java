package dev.toolgate.audit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * Appends audit lines to a JSON-lines file, creating it and its directory, and rotates it by size: the full file is
 * renamed to {@code <name>-<UTC time>.jsonl} and a new one started. Rotation happens between records, and the
 * chain simply continues (the first record of the new file links to the last of the old), so
 * {@code audit verify} over the rotated files, oldest first, then the current one, checks the whole history.
 * {@link #lastHash} reads the chain head of an existing file so a restarted sidecar continues the chain.
 *
 * <p>Lines gather in memory and go to the file in one write per {@link #flush} (or sooner when 64 KiB are waiting).
 * A write that fails (disk full, I/O error) never leaves a partial record: the file is cut back to the end of the
 * last whole record it holds and the lines stay in memory, to be written again, in order, by the next
 * {@link #write} or {@link #flush}; if even the cut fails, it is made before the next write. So the chain verifies
 * across the episode. Used by the writer thread only (not thread-safe), except {@link #syncWritten}.
 */
public final class FileAuditSink implements AuditSink {
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    /** Lines waiting past this many bytes are written without waiting for {@link #flush}. */
    private static final int DRAIN_BYTES = 64 * 1024;

    /** Opens the channel the sink writes the file through: the OS, or in tests an OS that fails a write. */
    @FunctionalInterface
    interface ChannelOpener {
        FileChannel open(Path file) throws IOException;
    }

    private final Path file;
    private final long maxBytes;
    private final Clock clock;
    private final ChannelOpener opener;
    private final AuditRetention retention;
    /** Volatile: {@link #syncWritten} reads it from the trail's sync thread. */
    private volatile FileChannel channel;
    /** Length of the file up to the end of the last whole record written to it. */
    private long good;
    /** Encoded lines (with their line breaks) not yet in the file: {@code pending[0, pendingLength)}. */
    private byte[] pending = new byte[8192];
    private int pendingLength;
    /** A write failed and cutting the file back failed too: cut it before writing again. */
    private boolean mustCut;

    private FileAuditSink(Path file, long maxBytes, Clock clock, ChannelOpener opener, AuditRetention retention)
            throws IOException {
        this.file = file;
        this.maxBytes = maxBytes;
        this.clock = clock;
        this.opener = opener;
        this.retention = retention;
        openCurrent();
    }

    /**
     * Opens {@code file} for appending, without rotation.
     *
     * @throws IOException if the file or its directory cannot be created or opened
     */
    public static FileAuditSink open(Path file) throws IOException {
        return new FileAuditSink(file, Long.MAX_VALUE, Clock.systemUTC(), FileAuditSink::openChannel,
                AuditRetention.keepAll());
    }

    /** As {@link #open(Path)}, through {@code opener} (tests: an OS that fails writes). */
    static FileAuditSink open(Path file, ChannelOpener opener) throws IOException {
        return new FileAuditSink(file, Long.MAX_VALUE, Clock.systemUTC(), opener, AuditRetention.keepAll());
    }

    /**
     * Opens {@code file} for appending, rotating it when the next line would take it past {@code maxBytes}.
     *
     * @throws IllegalArgumentException if {@code maxBytes} is under 1024
     * @throws IOException if the file or its directory cannot be created or opened
     */
    public static FileAuditSink rotating(Path file, long maxBytes, Clock clock) throws IOException {
        return rotating(file, maxBytes, clock, AuditRetention.keepAll());
    }

    /**
     * As {@link #rotating(Path, long, Clock)}, deleting the oldest rotated files after each rotation as
     * {@code retention} says.
     *
     * @throws IllegalArgumentException if {@code maxBytes} is under 1024
     * @throws IOException if the file or its directory cannot be created or opened
     */
    public static FileAuditSink rotating(Path file, long maxBytes, Clock clock, AuditRetention retention)
            throws IOException {
        if (maxBytes < 1024) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: >= 1024)");
        }
        return new FileAuditSink(file, maxBytes, clock, FileAuditSink::openChannel,
                Objects.requireNonNull(retention, "retention"));
    }

    public Path file() {
        return file;
    }

    private static FileChannel openChannel(Path file) throws IOException {
        // Not APPEND: writes are positional (at the end of the last whole record), which append mode would ignore.
        return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }

    private void openCurrent() throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        channel = opener.open(file);
        good = channel.size();
    }

    /** Takes one line; writes what is waiting first when rotating or when much is waiting (and throws if that fails). */
    @Override
    public void write(String line) throws IOException {
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        long size = good + pendingLength;
        if (size > 0 && size + bytes.length + 1 > maxBytes) {
            drain();
            rotate();
        } else if (pendingLength >= DRAIN_BYTES) {
            drain();
        }
        // Only now, when nothing can fail any more: a line the writer retries after an exception is taken once.
        int needed = pendingLength + bytes.length + 1;
        if (needed > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(needed, pending.length * 2));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pending[needed - 1] = '\n';
        pendingLength = needed;
    }

    /**
     * Writes every waiting line to the file in one positional write after the last whole record. On failure cuts the
     * file back to that record and keeps the lines, then rethrows.
     */
    private void drain() throws IOException {
        if (mustCut) {
            channel.truncate(good);
            mustCut = false;
        }
        if (pendingLength == 0) {
            return;
        }
        ByteBuffer bytes = ByteBuffer.wrap(pending, 0, pendingLength);
        try {
            while (bytes.hasRemaining()) {
                channel.write(bytes, good + bytes.position());
            }
        } catch (IOException e) {
            try {
                channel.truncate(good);
            } catch (IOException cut) {
                mustCut = true;
                e.addSuppressed(cut);
            }
            throw e;
        }
        good += pendingLength;
        pendingLength = 0;
    }

    private void rotate() throws IOException {
        // The full file is synced before it is closed: a power loss after rotation does not take its tail.
        channel.force(false);
        channel.close();
        String name = file.getFileName().toString();
        String base = name.endsWith(".jsonl") ? name.substring(0, name.length() - 6) : name;
        Path rotated = file.resolveSibling(base + "-" + STAMP.format(clock.instant()) + ".jsonl");
        Files.move(file, rotated, StandardCopyOption.ATOMIC_MOVE);
        openCurrent();
        retention.afterRotation(file, maxBytes);
    }

    /** Writes every waiting line to the file (the OS has it; survives kill -9, not a power loss). */
    @Override
    public void flush() throws IOException {
        drain();
    }

    /** Writes what is waiting, then syncs the file's data to its device ({@code fdatasync}). */
    @Override
    public void sync() throws IOException {
        drain();
        channel.force(false);
    }

    /**
     * Syncs what {@link #flush} already wrote to the file ({@code fdatasync}), from any thread, while the writer goes
     * on writing. A file rotated meanwhile was synced at rotation.
     */
    @Override
    public void syncWritten() throws IOException {
        FileChannel c = channel;
        try {
            c.force(false);
        } catch (ClosedChannelException e) {
            // Rotated (synced before it was closed) or the sink closed (synced at close by the trail).
        }
    }

    /** Writes what is waiting, then closes the file (closed even if that write fails). */
    @Override
    public void close() throws IOException {
        try {
            drain();
        } finally {
            channel.close();
        }
    }

    /**
     * The {@code hash} of the last record in {@code file}, if the file exists and has one.
     *
     * @throws IOException if the file cannot be read or its last line is not an audit record (the chain does not
     *     silently restart; {@link AuditTrail#open} moves a torn tail aside before it asks)
     */
    public static Optional<String> lastHash(Path file) throws IOException {
        if (!Files.exists(file) || Files.size(file) == 0) {
            return Optional.empty();
        }
        String last = lastLine(file);
        if (last.isEmpty()) {
            return Optional.empty();
        }
        com.fasterxml.jackson.databind.JsonNode node;
        try {
            node = AuditCodec.parse(last);
        } catch (IOException e) {
            throw new IOException(file + ": last line is not a JSON record; run 'toolgate audit verify " + file + "'",
                    e);
        }
        if (!node.hasNonNull("hash")) {
            throw new IOException(file + ": last line has no hash; run 'toolgate audit verify " + file + "'");
        }
        return Optional.of(node.get("hash").asText());
    }

    private static String lastLine(Path file) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long end = raf.length();
            while (end > 0) {
                raf.seek(end - 1);
                if (raf.read() != '\n') {
                    break;
                }
                end--;
            }
            long start = end;
            while (start > 0) {
                raf.seek(start - 1);
                if (raf.read() == '\n') {
                    break;
                }
                start--;
            }
            byte[] line = new byte[(int) (end - start)];
            raf.seek(start);
            raf.readFully(line);
            return new String(line, StandardCharsets.UTF_8);
        }
    }
}
