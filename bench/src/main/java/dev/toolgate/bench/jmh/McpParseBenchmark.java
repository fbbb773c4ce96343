package dev.toolgate.bench.jmh;

import dev.toolgate.mcp.McpParseException;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.mcp.McpRequest;
import java.nio.charset.StandardCharsets;
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
 * {@link McpParser#parse} on an MCP route's POST bodies, once per call: a typical {@code tools/call} (~1 KiB,
 * nested arguments), a {@code tools/list} and a batch of 10 {@code tools/call} requests. Bodies are prepared
 * {@code byte[]}s (the data plane parses the aggregated request body in place).
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class McpParseBenchmark {
    private final McpParser parser = new McpParser();
    private byte[] toolsCall;
    private byte[] toolsList;
    private byte[] batch;

    /** A {@code tools/call} of {@code search_issues} with nested arguments, about 1 KiB. */
    static String toolsCall(int id) {
        return """
                {"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"search_issues","arguments":\
                {"repo":"acme/widgets","query":"is:open label:bug sort:updated-desc crash on startup",\
                "limit":25,"page":1,"include_closed":false,\
                "filters":{"state":"open","labels":["bug","triage","p1"],"assignee":null,\
                "milestone":{"title":"2026.12","due":"2026-12-15T00:00:00Z"},\
                "created":{"after":"2026-10-01","before":"2026-11-28"}},\
                "fields":["number","title","state","labels","assignees","created_at","updated_at","comments"],\
                "context":{"purpose":"triage open bugs before the December release",\
                "previous_results":[{"number":4211,"title":"Crash on startup when config is empty","score":0.93},\
                {"number":4198,"title":"Startup hangs behind a proxy with TLS inspection","score":0.81},\
                {"number":4150,"title":"Segfault in native image on arm64 after upgrade","score":0.77}],\
                "notes":"Prefer issues updated in the last two weeks; skip anything labelled wontfix or duplicate."}},\
                "_meta":{"progressToken":"pt-%d"}}}""".formatted(id, id);
    }

    @Setup
    public void setup() throws McpParseException {
        toolsCall = toolsCall(7).getBytes(StandardCharsets.UTF_8);
        toolsList = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{\"cursor\":\"c-2\"}}"
                .getBytes(StandardCharsets.UTF_8);
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < 10; i++) {
            b.append(i == 0 ? "" : ",").append(toolsCall(100 + i));
        }
        batch = b.append(']').toString().getBytes(StandardCharsets.UTF_8);
        check(parseToolsCall(), 1, "mcp:tools/call:search_issues");
        check(parseToolsList(), 1, "mcp:tools/list");
        check(parseBatch(), 10, "mcp:tools/call:search_issues");
    }

    private static void check(McpRequest r, int n, String operation) {
        if (r.messages().size() != n || !r.messages().get(0).operation().equals(operation)) {
            throw new IllegalStateException("unexpected parse: " + r);
        }
    }

    @Benchmark
    public McpRequest parseToolsCall() throws McpParseException {
        return parser.parse(toolsCall, 0, toolsCall.length);
    }

    @Benchmark
    public McpRequest parseToolsList() throws McpParseException {
        return parser.parse(toolsList, 0, toolsList.length);
    }

    @Benchmark
    public McpRequest parseBatch() throws McpParseException {
        return parser.parse(batch, 0, batch.length);
    }
}
