package dev.toolgate.audit;

import java.io.IOException;

/**
 * Where audit lines go. Called only from the trail's writer thread, in chain order. A sink that throws keeps the
 * line: the writer retries it with back-off (records are never dropped), and meanwhile the trail takes no new
 * records ({@link AuditTrail#available} is false), so the data plane denies calls at once.
 */
public interface AuditSink extends AutoCloseable {
    /** Writes one JSON line (without the line break). */
    void write(String line) throws IOException;

    /**
     * Puts what was written where a crash of this process cannot take it (for a file: the write returned, so the
     * kernel has it). Called after each batch, before any of its callers goes on.
     */
    void flush() throws IOException;

    /**
     * Makes what was flushed survive a power loss (for a file: {@code fdatasync}), as {@code audit.fsync} asks. A sink
     * with nothing to sync flushes.
     */
    default void sync() throws IOException {
        flush();
    }

    /**
     * Syncs what {@link #flush} already put in place, from another thread than the writer's, while the writer goes on
     * ({@code audit.fsync: interval} does this off the writer thread, so a slow sync never holds calls back). A sink
     * with nothing to sync does nothing.
     */
    default void syncWritten() throws IOException {}

    @Override
    void close() throws IOException;
}
