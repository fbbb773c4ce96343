package dev.toolgate.testing;

import dev.toolgate.audit.AuditSink;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An audit sink whose writes wait while its gate is closed (a disk that stalls): the real trail in front of it
 * fills its queue and pushes back. Keeps the lines it wrote in memory. A test fixture for the trail's no-loss and
 * fail-closed behaviour, not a stand-in for the trail.
 */
public final class GatedAuditSink implements AuditSink {
    public final List<String> lines = new CopyOnWriteArrayList<>();
    private volatile CountDownLatch gate = new CountDownLatch(1);
    /** Counts down when the writer is first held at the gate (since the last {@link #hold}). */
    public volatile CountDownLatch held = new CountDownLatch(1);

    /** Lets every write through from now on. */
    public void open() {
        gate.countDown();
    }

    /** Closes the gate again: the next write waits until {@link #open}. */
    public void hold() {
        held = new CountDownLatch(1);
        gate = new CountDownLatch(1);
    }

    @Override
    public void write(String line) throws IOException {
        CountDownLatch g = gate;
        if (g.getCount() > 0) {
            held.countDown();
            try {
                if (!g.await(60, TimeUnit.SECONDS)) {
                    throw new IOException("test gate never opened");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted at the gate", e);
            }
        }
        lines.add(line);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
}
