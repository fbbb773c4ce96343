package dev.toolgate.audit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * Appends audit lines to a JSON-lines file, creating it and its directory. {@link #lastHash} reads the chain head
 * of an existing file so a restarted sidecar continues the chain. Used by the writer thread only.
 */
public final class FileAuditSink implements AuditSink {
    private final Path file;
    private final BufferedWriter out;

    private FileAuditSink(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** Opens {@code file} for appending. */
    public static FileAuditSink open(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        return new FileAuditSink(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE));
    }

    public Path file() {
        return file;
    }

    @Override
    public void write(String line) throws IOException {
        out.write(line);
        out.write('\n');
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
     * @throws IOException if the file cannot be read or its last line is not an audit record (a torn last line
     *     must be looked at by a person: the chain does not silently restart)
     */
    public static Optional<String> lastHash(Path file) throws IOException {
        if (!Files.exists(file) || Files.size(file) == 0) {
            return Optional.empty();
        }
        String last = lastLine(file);
        if (last.isEmpty()) {
            return Optional.empty();
        }
        var node = AuditCodec.parse(last);
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
