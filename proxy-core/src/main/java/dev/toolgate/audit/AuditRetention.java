package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.AuditConfig;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many rotated audit files are kept beside the current one: at most {@code maxFiles} of them, and at most
 * {@code maxTotalBytes} for them and the current file together; the oldest go first (rotated files are named
 * {@code <name>-<UTC time>.jsonl}, so their names sort by age). The current file is never deleted, nor any other file
 * of the directory (side files of a torn tail included). {@code 0} for either limit means no limit; both {@code 0}
 * (the default) keeps every file.
 *
 * <p>Size the limits below the space the directory has (a Kubernetes emptyDir's {@code sizeLimit}): the trail never
 * takes more than {@code maxTotalBytes} (the current file is counted at the size it may reach before its rotation),
 * nor more than {@code (maxFiles + 1) * audit.maxFileBytes}. Files deleted are lost to
 * {@code audit verify}: ship them first ({@code audit.stdout} to the container log, or a log agent reading the
 * directory). The chain of the files kept still verifies, from the oldest kept one on.
 *
 * <p>Immutable and thread-safe; {@link #afterRotation} does file I/O and is called by the audit writer thread right
 * after a rotation. It never throws: a file that cannot be listed or deleted is logged and tried again at the next
 * rotation (auditing goes on; a full disk is then the write path's business, which fails closed).
 */
public final class AuditRetention {
    private static final Logger log = LoggerFactory.getLogger(AuditRetention.class);
    private static final AuditRetention KEEP_ALL = new AuditRetention(0, 0);

    private final int maxFiles;
    private final long maxTotalBytes;

    private AuditRetention(int maxFiles, long maxTotalBytes) {
        this.maxFiles = maxFiles;
        this.maxTotalBytes = maxTotalBytes;
    }

    /** Keeps every rotated file. */
    public static AuditRetention keepAll() {
        return KEEP_ALL;
    }

    /**
     * At most {@code maxFiles} rotated files and {@code maxTotalBytes} for them and the current file ({@code 0}: no
     * such limit).
     *
     * @throws IllegalArgumentException if a limit is negative
     */
    public static AuditRetention of(int maxFiles, long maxTotalBytes) {
        if (maxFiles < 0) {
            throw new IllegalArgumentException("maxFiles: " + maxFiles + " (expected: >= 0, 0 for no limit)");
        }
        if (maxTotalBytes < 0) {
            throw new IllegalArgumentException("maxTotalBytes: " + maxTotalBytes
                    + " (expected: >= 0, 0 for no limit)");
        }
        return maxFiles == 0 && maxTotalBytes == 0 ? KEEP_ALL : new AuditRetention(maxFiles, maxTotalBytes);
    }

    /** The limits {@code audit.maxFiles} and {@code audit.maxTotalBytes} of a sidecar configuration. */
    public static AuditRetention of(AuditConfig config) {
        requireNonNull(config, "config");
        return of(config.maxFiles(), config.maxTotalBytes());
    }

    public int maxFiles() {
        return maxFiles;
    }

    public long maxTotalBytes() {
        return maxTotalBytes;
    }

    /**
     * Deletes the oldest rotated files of {@code current} until the limits hold, counting the current file at
     * {@code currentMaxBytes} (the size it may grow to before the next rotation; at least its present size), so the
     * trail stays within {@code maxTotalBytes} until then. Logs each deletion (INFO) and any failure (WARN), never
     * throws.
     *
     * @return the files deleted, oldest first
     */
    public List<Path> afterRotation(Path current, long currentMaxBytes) {
        requireNonNull(current, "current");
        if (this == KEEP_ALL) {
            return List.of();
        }
        List<Path> deleted = new ArrayList<>();
        try {
            List<Path> rotated = rotatedFiles(current);
            long total = Math.max(size(current), currentMaxBytes);
            List<Long> sizes = new ArrayList<>(rotated.size());
            for (Path p : rotated) {
                long s = size(p);
                sizes.add(s);
                total += s;
            }
            int kept = rotated.size();
            for (int i = 0; i < rotated.size(); i++) {
                boolean tooMany = maxFiles > 0 && kept > maxFiles;
                boolean tooLarge = maxTotalBytes > 0 && total > maxTotalBytes;
                if (!tooMany && !tooLarge) {
                    break;
                }
                Path oldest = rotated.get(i);
                try {
                    Files.deleteIfExists(oldest);
                } catch (IOException e) {
                    log.warn("audit retention: cannot delete {} ({}); trying again at the next rotation", oldest,
                            e.toString());
                    break;
                }
                deleted.add(oldest);
                kept--;
                total -= sizes.get(i);
                log.info("audit retention: deleted {} ({} bytes; keeping {} rotated files{}, {} bytes in all)",
                        oldest, sizes.get(i), kept, maxFiles > 0 ? " of at most " + maxFiles : "", total);
            }
        } catch (IOException e) {
            log.warn("audit retention: cannot list the rotated files of {} ({}); trying again at the next rotation",
                    current, e.toString());
        }
        return List.copyOf(deleted);
    }

    /** The rotated files of {@code current} ({@code <name>-<UTC time>.jsonl}), oldest first. */
    static List<Path> rotatedFiles(Path current) throws IOException {
        Path dir = current.toAbsolutePath().getParent();
        String name = current.getFileName().toString();
        String base = name.endsWith(".jsonl") ? name.substring(0, name.length() - 6) : name;
        Pattern rotated = Pattern.compile(Pattern.quote(base) + "-\\d{8}T\\d{6}\\.\\d{6}Z\\.jsonl");
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path p : files) {
                if (rotated.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p)) {
                    out.add(p);
                }
            }
        }
        out.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
        return out;
    }

    private static long size(Path p) throws IOException {
        try {
            return Files.size(p);
        } catch (NoSuchFileException e) {
            return 0;
        }
    }

    @Override
    public String toString() {
        return "AuditRetention[maxFiles=" + maxFiles + ", maxTotalBytes=" + maxTotalBytes + "]";
    }
}
