package dev.toolgate.grant;

import dev.toolgate.grant.JournalCodec.Entry;
import dev.toolgate.grant.JournalCodec.Marker;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compaction of a journal: which records still matter, and the crash-safe rewrite of the file to hold only those.
 * Stateless; the caller holds the journal's lock.
 */
final class JournalCompaction {
    private JournalCompaction() {}

    /**
     * The records of every task that still matters at {@code now}, in their order: a task matters while
     * {@code now} is before its expiry, and so does every ancestor of such a task (a delegated task should never
     * outlive its parent, but if one did, dropping the parent's end would bring the child back to life). Records
     * of a task whose start is not in the journal concern nothing the registry can rebuild and are dropped.
     */
    static List<Entry> kept(List<Entry> entries, Instant now) {
        Map<String, Task> tasks = new HashMap<>();
        for (Entry e : entries) {
            if (e.event() instanceof TaskEvent.Started s) {
                tasks.put(s.task().id(), s.task());
            }
        }
        Set<String> live = new HashSet<>();
        for (Task t : tasks.values()) {
            if (now.isBefore(t.expiresAt())) {
                // Walk up to the root; stop early at an ancestor already kept.
                Task a = t;
                while (a != null && live.add(a.id())) {
                    a = a.parentId() == null ? null : tasks.get(a.parentId());
                }
            }
        }
        List<Entry> kept = new ArrayList<>();
        for (Entry e : entries) {
            if (live.contains(e.event().taskId())) {
                kept.add(e);
            }
        }
        return kept;
    }

    /**
     * Replaces {@code file} by one holding {@code marker} and then {@code kept}: written to a temporary file in the
     * same directory, forced to disk, moved over {@code file} atomically, and the directory forced so the move
     * itself survives a crash. A crash at any point leaves either the old file or the new one, whole.
     */
    static void rewrite(Path file, Marker marker, List<Entry> kept) throws IOException {
        Path tmp = temporary(file);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 64 * 1024);
            out.write(JournalCodec.encodeMarker(marker));
            for (Entry e : kept) {
                out.write(JournalCodec.encode(e.rev(), e.event()));
            }
            out.flush();
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(file.toAbsolutePath().getParent());
    }

    /** Where {@link #rewrite} writes the new file before moving it over {@code file}. */
    static Path temporary(Path file) {
        return file.resolveSibling(file.getFileName() + ".compacting");
    }

    /** Forces a directory's entries (a file created, renamed or removed in it) to disk. */
    static void forceDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
