package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import dev.toolgate.grant.JournalCodec.Entry;
import dev.toolgate.grant.JournalCodec.Marker;
import dev.toolgate.grant.JournalReader.Contents;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded, restart-safe {@link TaskStore}: an append-only file of JSON lines, one per event, that a
 * restarted sidecar replays. The format is described in {@code JournalCodec}: each line carries its revision, its
 * type, the event and a CRC32C of the line, so a damaged record is found even when it still parses.
 *
 * <p><b>Opening</b> reads and checks every line. A record counts only once its newline is written, so a last line
 * without one (even if complete and intact) or a last line that fails to parse or its CRC is what a write cut short
 * by a crash leaves: it is logged at WARN, cut off, and appends go on from a clean line; no earlier byte is
 * touched. Anything else that is wrong (a damaged record before the last, a revision out of sequence, a record this
 * version does not understand) is corruption: {@link #open} fails with an {@link IOException} naming the file and
 * line, because a sidecar that started with a partial view could bring a revoked task back. A missing file is an
 * empty journal; its directory is created.
 *
 * <p><b>Compaction</b> happens at open when the journal holds more than {@code compactAbove} records: the file is
 * rewritten (to a temporary file in the same directory, forced to disk, moved over the old one atomically, the
 * directory forced) to hold only the records of tasks that still matter at the clock's now, that is whose expiry
 * is still ahead, and their ancestors. Kept records keep their original revisions; the rewritten file starts with a
 * {@code compacted} marker carrying the last revision and the number of records kept, so revisions still only grow
 * (the next append gets the marker's revision + 1) and a record missing from the kept ones is still detected.
 * {@link #load} then returns the kept events only.
 *
 * <p><b>Durability</b> is the {@link FsyncPolicy}: with {@link FsyncPolicy#ALWAYS} (the default a configuration
 * should use) {@link #append} returns only after the record is on disk. A failed append is undone as far as
 * possible (the file is cut back to where it ended) and then the store refuses every further append until it is
 * reopened: after a failed write or sync the file's state is unknown, and the registry must fail closed.
 *
 * <p>A journal is opened by one store at a time: {@link #open} takes an exclusive lock on {@code <file>.lock}
 * beside it, held until {@link #close}, and fails if another store (in this or another process) holds it.
 *
 * <p>Thread-safe: appends are serialized, each one a single write of its line to the file opened in append mode.
 * Writes and syncs go through {@link FileOutputStream} rather than an interruptible {@link FileChannel}, so an
 * interrupted caller cannot close the file under every other caller.
 */
public final class JournalTaskStore implements TaskStore {
    /** How many records a journal may hold at open before it is compacted, unless told otherwise. */
    public static final int DEFAULT_COMPACT_ABOVE = 10_000;

    private static final Logger log = LoggerFactory.getLogger(JournalTaskStore.class);

    /** When an appended record is forced to disk. */
    public enum FsyncPolicy {
        /**
         * Before {@link JournalTaskStore#append} returns (fsync): an event whose append returned survives a crash of
         * the process and of the machine. The default.
         */
        ALWAYS,
        /**
         * Never: the operating system writes it back when it likes. An event whose append returned survives a crash
         * of the process, but not necessarily of the machine (the last seconds of revocations may be lost).
         */
        NEVER
    }

    private final Path file;
    private final FsyncPolicy fsync;
    private final FileChannel lockChannel;
    private final List<TaskEvent> recovered;
    private final long openedAt;
    private final Object lock = new Object();
    /** Guarded by {@link #lock}. */
    private final FileOutputStream out;
    /** Guarded by {@link #lock}: the length of the file, where the next record goes. */
    private long size;
    /** Guarded by {@link #lock}: why appends are refused, or null. */
    private IOException failure;
    /** Guarded by {@link #lock}. */
    private boolean closed;
    /** Written under {@link #lock}. */
    private volatile long revision;

    private JournalTaskStore(Path file, FsyncPolicy fsync, FileChannel lockChannel, List<TaskEvent> recovered,
                              long revision) throws IOException {
        this.file = file;
        this.fsync = fsync;
        this.lockChannel = lockChannel;
        this.recovered = recovered;
        this.openedAt = revision;
        this.revision = revision;
        this.out = new FileOutputStream(file.toFile(), true);
        this.size = Files.size(file);
    }

    /**
     * Opens the journal {@code file}, creating it (and its directories) if missing, compacting it above
     * {@link #DEFAULT_COMPACT_ABOVE} records against the system clock.
     *
     * @throws IOException if it cannot be read or written, is corrupt (the message names the file and line), or is
     *     open in another store
     */
    public static JournalTaskStore open(Path file, FsyncPolicy fsync) throws IOException {
        return open(file, fsync, Clock.systemUTC(), DEFAULT_COMPACT_ABOVE);
    }

    /**
     * Opens the journal {@code file}, creating it (and its directories) if missing, and compacting it if it holds
     * more than {@code compactAbove} records: tasks whose expiry is not after {@code clock}'s now are dropped.
     *
     * @throws IllegalArgumentException if {@code compactAbove} is not positive
     * @throws IOException if it cannot be read or written, is corrupt (the message names the file and line), or is
     *     open in another store
     */
    public static JournalTaskStore open(Path file, FsyncPolicy fsync, Clock clock, int compactAbove)
            throws IOException {
        requireNonNull(file, "file");
        requireNonNull(fsync, "fsync");
        requireNonNull(clock, "clock");
        if (compactAbove < 1) {
            throw new IllegalArgumentException("compactAbove: " + compactAbove + " (expected: > 0)");
        }
        Path path = file.toAbsolutePath();
        Files.createDirectories(path.getParent());
        FileChannel lockChannel = lock(path);
        try {
            return recover(path, fsync, clock, compactAbove, lockChannel);
        } catch (IOException | RuntimeException e) {
            try {
                lockChannel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static FileChannel lock(Path path) throws IOException {
        Path lockFile = path.resolveSibling(path.getFileName() + ".lock");
        FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock held;
        try {
            held = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            held = null; // held by another store in this JVM
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (held == null) {
            ch.close();
            throw new IOException(path + ": already open in another store (" + lockFile + " is locked)");
        }
        return ch;
    }

    private static JournalTaskStore recover(Path path, FsyncPolicy fsync, Clock clock, int compactAbove,
                                             FileChannel lockChannel) throws IOException {
        Path leftover = JournalCompaction.temporary(path);
        if (Files.deleteIfExists(leftover)) {
            log.info("{}: removed {} left by a compaction that did not finish (the journal itself is whole)", path,
                    leftover);
        }
        if (!Files.exists(path)) {
            Files.createFile(path);
            JournalCompaction.forceDirectory(path.getParent());
            log.debug("{}: created an empty journal", path);
            return new JournalTaskStore(path, fsync, lockChannel, List.of(), 0);
        }
        Contents c = JournalReader.read(path);
        if (c.torn() != null) {
            log.warn("{}: line {} is torn ({}), most likely a write cut short by a crash (a record counts only once"
                    + " its newline is written); cutting off its {} bytes, the {} records before it are intact", path,
                    c.torn().line(), c.torn().reason(), c.torn().bytes(), c.records());
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
                ch.truncate(c.validBytes());
                ch.force(true);
            }
        }
        List<Entry> entries = c.entries();
        if (entries.size() > compactAbove) {
            List<Entry> kept = JournalCompaction.kept(entries, clock.instant());
            if (kept.size() < entries.size()) {
                JournalCompaction.rewrite(path, new Marker(c.revision(), clock.instant(), kept.size()), kept);
                log.info("{}: compacted at revision {}: kept the {} records of tasks not yet expired, dropped {}",
                        path, c.revision(), kept.size(), entries.size() - kept.size());
                entries = kept;
            }
        }
        List<TaskEvent> events = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            events.add(e.event());
        }
        log.debug("{}: opened at revision {} with {} records", path, c.revision(), events.size());
        return new JournalTaskStore(path, fsync, lockChannel, List.copyOf(events), c.revision());
    }

    /** False once closed or after a failed append (no more appends until reopened). */
    @Override
    public boolean healthy() {
        synchronized (lock) {
            return !closed && failure == null;
        }
    }

    /**
     * Appends {@code event} as one line and, with {@link FsyncPolicy#ALWAYS}, forces it to disk before returning.
     *
     * @return its revision
     * @throws IOException if it could not be recorded (the event must then not take effect), if an earlier append
     *     failed, or if the store is closed
     */
    @Override
    public long append(TaskEvent event) throws IOException {
        requireNonNull(event, "event");
        synchronized (lock) {
            if (closed) {
                throw new IOException(file + ": journal is closed");
            }
            if (failure != null) {
                throw new IOException(file + ": an earlier append failed; no more appends until the journal is"
                        + " reopened", failure);
            }
            long rev = revision + 1;
            byte[] line = JournalCodec.encode(rev, event);
            if (line.length - 1 > JournalCodec.MAX_LINE) {
                throw new IOException(file + ": record for task " + event.taskId() + " is " + (line.length - 1)
                        + " bytes (expected: <= " + JournalCodec.MAX_LINE + ")");
            }
            try {
                out.write(line);
                if (fsync == FsyncPolicy.ALWAYS) {
                    out.getFD().sync();
                }
            } catch (IOException e) {
                failure = e;
                undo(e);
                throw new IOException(file + ": could not record revision " + rev + "; no more appends until the"
                        + " journal is reopened", e);
            }
            size += line.length;
            revision = rev;
            return rev;
        }
    }

    /** Cuts off whatever part of a failed append reached the file, so a restart does not recover it either. */
    private void undo(IOException cause) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /**
     * The events the journal held when it was opened (after compaction), in revision order, and the revision it was
     * opened at.
     *
     * @throws IllegalStateException after an append (the snapshot would miss it)
     */
    @Override
    public Snapshot load() {
        synchronized (lock) {
            if (revision != openedAt) {
                throw new IllegalStateException(file + ": load after append (expected: load once, before the first"
                        + " append)");
            }
            return new Snapshot(openedAt, recovered);
        }
    }

    @Override
    public long revision() {
        return revision;
    }

    /** The journal file (absolute). */
    public Path file() {
        return file;
    }

    /** Closes the file and releases the lock; appends then fail. Idempotent. */
    @Override
    public void close() throws IOException {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                out.close();
            } finally {
                lockChannel.close();
            }
        }
    }
}
