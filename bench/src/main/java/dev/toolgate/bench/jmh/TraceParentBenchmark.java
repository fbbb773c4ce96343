package dev.toolgate.bench.jmh;

import dev.toolgate.telemetry.TraceParent;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** {@link TraceParent#continueOrStart} and the header it writes: once per forwarded request. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TraceParentBenchmark {
    public String valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    public String malformed = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";

    @Benchmark
    public String continueValid() {
        return TraceParent.continueOrStart(valid).header();
    }

    @Benchmark
    public String startWhenMissing() {
        return TraceParent.continueOrStart(null).header();
    }

    @Benchmark
    public String startWhenMalformed() {
        return TraceParent.continueOrStart(malformed).header();
    }
}
