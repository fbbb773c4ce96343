package dev.toolgate.audit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Optional;

/**
 * Appends audit lines to a JSON-lines file, creating it and its directory, and rotates it by size: the full file is
 * renamed to {@code <name>-<UTC time>.jsonl} and a new one started. Rotation happens between records, and the
 * chain simply continues (the first record of the new file links to the last of the old), so
 * {@code audit verify} over the rotated files, oldest first, then the current one, checks the whole history.
 * {@link #lastHash} reads the chain head of an existing file so a restarted sidecar continues the chain. Used by
 * the writer thread only.
 */
public final class FileAuditSink implements AuditSink {
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

    private final Path file;
    private final long maxBytes;
    private final Clock clock;
    private BufferedWriter out;
    private long size;

    private FileAuditSink(Path file, long maxBytes, Clock clock) throws IOException {
        this.file = file;
        this.maxBytes = maxBytes;
        this.clock = clock;
        openCurrent();
    }

    /** Opens {@code file} for appending, without rotation. */
    public static FileAuditSink open(Path file) throws IOException {
        return new FileAuditSink(file, Long.MAX_VALUE, Clock.systemUTC());
    }

    /** Opens {@code file} for appending, rotating it when the next line would take it past {@code maxBytes}. */
    public static FileAuditSink rotating(Path file, long maxBytes, Clock clock) throws IOException {
        if (maxBytes < 1024) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: >= 1024)");
        }
        return new FileAuditSink(file, maxBytes, clock);
    }

    public Path file() {
        return file;
    }

    private void openCurrent() throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        size = Files.size(file);
    }

    @Override
    public void write(String line) throws IOException {
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        if (size > 0 && size + bytes.length + 1 > maxBytes) {
            rotate();
        }
        out.write(line);
        out.write('\n');
        size += bytes.length + 1;
    }

    private void rotate() throws IOException {
        out.close();
        String name = file.getFileName().toString();
        String base = name.endsWith(".jsonl") ? name.substring(0, name.length() - 6) : name;
        Path rotated = file.resolveSibling(base + "-" + STAMP.format(clock.instant()) + ".jsonl");
        Files.move(file, rotated, StandardCopyOption.ATOMIC_MOVE);
        openCurrent();
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
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
