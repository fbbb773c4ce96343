package dev.toolgate.bench.jmh;

import dev.toolgate.call.RouteMatch;
import dev.toolgate.call.RouteTable;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** {@link RouteTable#match} over 100 routes (90 path prefixes of one to three segments, 10 gRPC services). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RouteTableBenchmark {

    @Param({
        "/api/tool42/v1/items/123/details",   // hit, two-segment prefix, four segments stripped off
        "/team9/svc2/tool79/call",            // hit, three-segment prefix
        "/mcp/tool5",                         // hit, exact prefix
        "/acme.tools.v1.Service3/Get",        // gRPC service
        "/api/unknown/a/b/c/d/e/f/g/h"        // miss: every segment boundary probed
    })
    public String path;

    private RouteTable table;

    @Setup
    public void setup() {
        List<RouteConfig> routes = new ArrayList<>();
        UpstreamConfig up = new UpstreamConfig(URI.create("http://127.0.0.1:8080/base"), null, null);
        for (int i = 0; i < 90; i++) {
            String prefix = switch (i % 3) {
                case 0 -> "/api/tool" + i;
                case 1 -> "/team" + (i % 10) + "/svc" + (i % 7) + "/tool" + i;
                default -> "/mcp/tool" + i;
            };
            routes.add(new RouteConfig("r" + i, prefix, null, null, up, null, null));
        }
        for (int i = 0; i < 10; i++) {
            routes.add(new RouteConfig("g" + i, null, "acme.tools.v1.Service" + i, null, up, null, null));
        }
        table = RouteTable.of(routes);
        if (table.match(path) == null != path.startsWith("/api/unknown")) {
            throw new IllegalStateException("route table does not answer " + path + " as the benchmark expects");
        }
    }

    @Benchmark
    public RouteMatch match() {
        return table.match(path);
    }
}
