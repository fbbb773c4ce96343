package dev.toolgate.bench.jmh;

import dev.toolgate.call.PathNormalizer;
import dev.toolgate.call.RejectedTargetException;
import dev.toolgate.call.RequestTarget;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** {@link PathNormalizer#normalize}: runs once per request, before routing. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PathNormalizerBenchmark {

    /** Accepted targets: what agents send, and what an attacker sends that still normalizes. */
    @Param({
        "/api/weather/v1/forecast?city=Berlin&days=3",
        "/mcp/github",
        "/grpc.testing.SimpleService/UnaryRpc",
        "/api/files/v2/Stra%C3%9Fe/%7Euser/report%20final.pdf",
        "/api/./weather/../weather//v1/;jsessionid=1/x%2e%2e/..;/y\\z?a=1#frag"
    })
    public String target;

    @Benchmark
    public RequestTarget normalize() throws RejectedTargetException {
        return PathNormalizer.normalize(target);
    }

    /** Refused targets: the cost of saying no (the exception included). */
    @State(Scope.Benchmark)
    public static class Hostile {
        @Param({"/api/..%2fadmin", "/api/%252e%252e/admin", "/api/%c0%ae%c0%ae/admin", "/api/x%00.json"})
        public String target;
    }

    @Benchmark
    public Object reject(Hostile h) {
        try {
            return PathNormalizer.normalize(h.target);
        } catch (RejectedTargetException e) {
            return e;
        }
    }
}
