package dev.toolgate.testing;

import dev.toolgate.audit.AuditSink;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An audit sink that fails on demand (a disk that fills up, then has room again): while failing, every write and
 * flush throws, as {@code write(2)} does with {@code ENOSPC}. Keeps the lines it took in memory. A fake of the I/O
 * boundary for the trail's fail-closed behaviour, not a stand-in for the trail. Thread-safe.
 */
public final class FailingAuditSink implements AuditSink {
    public final List<String> lines = new CopyOnWriteArrayList<>();
    /** Writes and flushes refused so far. */
    public final AtomicInteger failures = new AtomicInteger();
    private volatile boolean failing;

    /** Makes every write and flush fail from now on. */
    public void fail() {
        failing = true;
    }

    /** Lets writes and flushes succeed again. */
    public void recover() {
        failing = false;
    }

    @Override
    public void write(String line) throws IOException {
        if (failing) {
            failures.incrementAndGet();
            throw new IOException("No space left on device (test)");
        }
        lines.add(line);
    }

    @Override
    public void flush() throws IOException {
        if (failing) {
            failures.incrementAndGet();
            throw new IOException("No space left on device (test)");
        }
    }

    @Override
    public void close() {}
}
