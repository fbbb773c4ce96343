package dev.toolgate.audit;

import java.io.IOException;

/**
 * Where audit lines go. Called only from the trail's writer thread, in chain order. A sink that throws keeps the
 * line: the writer retries it (records are never dropped), and meanwhile the queue fills and the data plane
 * denies calls it cannot audit.
 */
public interface AuditSink extends AutoCloseable {
    /** Writes one JSON line (without the line break). */
    void write(String line) throws IOException;

    /** Makes what was written durable (called after each batch). */
    void flush() throws IOException;

    @Override
    void close() throws IOException;
}
