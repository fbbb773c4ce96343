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
    private final CountDownLatch gate = new CountDownLatch(1);
    /** Counts down when the writer is first held at the gate. */
    public final CountDownLatch held = new CountDownLatch(1);

    /** Lets every write through from now on. */
    public void open() {
        gate.countDown();
    }

    @Override
    public void write(String line) throws IOException {
        if (gate.getCount() > 0) {
            held.countDown();
            try {
                if (!gate.await(60, TimeUnit.SECONDS)) {
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
