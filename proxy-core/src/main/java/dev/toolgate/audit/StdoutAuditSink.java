package dev.toolgate.audit;

import java.io.IOException;
import java.io.PrintStream;

/**
 * Writes audit lines to standard output as well as to another sink (the Kubernetes convention: the container
 * log collects stdout; diagnostic logs go to stderr and never mix with it). The chain head is read back from the
 * file sink at restart, so the stdout stream continues the same chain.
 */
public final class StdoutAuditSink implements AuditSink {
    private final AuditSink next;
    private final PrintStream out;

    public StdoutAuditSink(AuditSink next, PrintStream out) {
        this.next = next;
        this.out = out;
    }

    @Override
    public void write(String line) throws IOException {
        next.write(line);
        out.println(line);
    }

    @Override
    public void flush() throws IOException {
        next.flush();
        out.flush();
        if (out.checkError()) {
            throw new IOException("standard output failed");
        }
    }

    @Override
    public void sync() throws IOException {
        flush();
        next.sync();
    }

    @Override
    public void syncWritten() throws IOException {
        next.syncWritten();
    }

    @Override
    public void close() throws IOException {
        next.close();
        out.flush();
    }
}
