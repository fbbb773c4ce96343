package dev.toolgate.testing;

import dev.toolgate.audit.AuditSink;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps written audit lines in memory; can be made slow to test back-pressure. */
public final class MemoryAuditSink implements AuditSink {
    public final List<String> lines = new CopyOnWriteArrayList<>();
    private final long delayMillisPerLine;

    public MemoryAuditSink() {
        this(0);
    }

    public MemoryAuditSink(long delayMillisPerLine) {
        this.delayMillisPerLine = delayMillisPerLine;
    }

    @Override
    public void write(String line) {
        if (delayMillisPerLine > 0) {
            try {
                Thread.sleep(delayMillisPerLine); // a slow sink on purpose: each write takes this long
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        lines.add(line);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
}
