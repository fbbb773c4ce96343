package dev.toolgate.audit;

import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link AuditCodec#encode}: a record's canonical JSON line, its SHA-256 over the line without {@code hash}, and the
 * line again with it, chained to the previous hash. The audit trail's writer thread does this twice per forwarded
 * call (a decision and an outcome record); {@link #decisionAndOutcome} is that pair. Lives in the sidecar's package
 * because {@code AuditCodec} is package-private (this module only reads it), as {@code HopByHopBenchmark} does;
 * the public {@link AuditTrail} would add its queue and writer thread hand-off, which is not this cost.
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AuditEncodingBenchmark {
    private final AuditCodec codec = new AuditCodec();
    private AuditRecord decision;
    private AuditRecord outcome;
    private String prev = AuditCodec.GENESIS;

    @Setup
    public void setup() {
        Instant ts = Instant.parse("2026-11-28T14:03:07.123456Z");
        String agent = "spiffe://bench.dev/agents/a42/worker-7";
        String decisionId = "01JDQ8X5T3M4N7P9R2S6V8W0YZ";
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        decision = AuditRecord.decision(ts, decisionId, traceId, "00f067aa0ba902b7", agent, "tsk_01HV8ZQK3Y4R1",
                null, "triage open bugs", "github-mcp", "mcp", "mcp:tools/call:search_issues", "allow", "ALLOW",
                null, "g-3", "agents-a42/allow[8]", "enforce", 7);
        outcome = AuditRecord.outcome(ts.plusMillis(38), decisionId, traceId, agent, "tsk_01HV8ZQK3Y4R1",
                "github-mcp", "mcp:tools/call:search_issues", 200, "completed", null, 38L, 1093, 1024);
    }

    @Benchmark
    public String decision() {
        String line = codec.encode(decision, prev);
        prev = codec.lastHash();
        return line;
    }

    @Benchmark
    public String outcome() {
        String line = codec.encode(outcome, prev);
        prev = codec.lastHash();
        return line;
    }

    @Benchmark
    public String decisionAndOutcome() {
        codec.encode(decision, prev);
        String line = codec.encode(outcome, codec.lastHash());
        prev = codec.lastHash();
        return line;
    }
}
