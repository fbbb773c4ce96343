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

    /** Makes what was written durable (called after each batch). */
    void flush() throws IOException;

    @Override
    void close() throws IOException;
}
