package dev.toolgate.audit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What "durable before forward" costs one call: a decision record offered to a real {@link AuditTrail} writing a
 * real file (in the system's temp directory), until the writer says it is in the file, for each {@code audit.fsync}.
 * {@link #oneCaller} is a lone call (each record its own batch: the write, the hand-off to the writer thread and
 * back); {@link #fourCallers} four threads at once (the writer group-commits what arrives while it writes). The
 * numbers depend on the disk under {@code java.io.tmpdir}: {@code batch} is one {@code fdatasync} per batch.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 4, time = 1)
@Fork(1)
public class AuditTrailBenchmark {
    @Param({"never", "interval", "batch"})
    public String fsync;

    private Path dir;
    private AuditTrail trail;
    private AuditRecord decision;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        dir = Files.createTempDirectory("toolgate-audit-bench");
        trail = AuditTrail.start(FileAuditSink.rotating(dir.resolve("audit.jsonl"), 64L << 20, Clock.systemUTC()),
                null, 65_536, Clock.systemUTC(), AuditFsync.parse(fsync), Duration.ofSeconds(1),
                Duration.ofSeconds(10));
        Instant ts = Instant.parse("2026-12-08T14:03:07.123456Z");
        decision = AuditRecord.decision(ts, "01JDQ8X5T3M4N7P9R2S6V8W0YZ", "4bf92f3577b34da6a3ce929d0e0e4736",
                "00f067aa0ba902b7", "spiffe://bench.dev/agents/a42/worker-7", "tsk_01HV8ZQK3Y4R1", null,
                "triage open bugs", "github-mcp", "mcp", "mcp:tools/call:search_issues", "allow", "ALLOW", null,
                "g-3", "agents-a42/allow[8]", "enforce", 7);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        trail.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private boolean written() {
        CompletableFuture<Boolean> told = new CompletableFuture<>();
        while (!trail.offer(decision, Runnable::run, told::complete)) {
            Thread.onSpinWait();
        }
        return told.join();
    }

    @Benchmark
    @Threads(1)
    public boolean oneCaller() {
        return written();
    }

    @Benchmark
    @Threads(4)
    public boolean fourCallers() {
        return written();
    }
}
