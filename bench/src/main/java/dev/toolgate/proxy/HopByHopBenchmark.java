package dev.toolgate.proxy;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
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
 * {@link HopByHop} header copies, request and response, as done once each per forwarded exchange. Lives in the
 * sidecar's package because {@code HopByHop} is package-private (this module only reads it).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class HopByHopBenchmark {
    private HttpHeaders agentRequest;
    private HttpHeaders agentRequestWithConnectionList;
    private HttpHeaders upstreamResponse;

    @Setup
    public void setup() {
        agentRequest = new DefaultHttpHeaders()
                .add("Host", "127.0.0.1:15001")
                .add("User-Agent", "agent-sdk/1.4 (python 3.12)")
                .add("Accept", "application/json, text/event-stream")
                .add("Content-Type", "application/json")
                .add("Content-Length", "1024")
                .add("Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig")
                .add("toolgate-task", "tsk_01HV8ZQK3Y4R1")
                .add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .add("Mcp-Session-Id", "3f1c2a9e")
                .add("Accept-Encoding", "gzip");
        agentRequestWithConnectionList = new DefaultHttpHeaders().add(agentRequest)
                .add("Connection", "keep-alive, X-Debug")
                .add("Keep-Alive", "timeout=5")
                .add("X-Debug", "1");
        upstreamResponse = new DefaultHttpHeaders()
                .add("Content-Type", "application/json")
                .add("Content-Length", "1024")
                .add("Date", "Fri, 28 Nov 2025 14:00:00 GMT")
                .add("Server", "tool/1.0")
                .add("Cache-Control", "no-store")
                .add("Connection", "keep-alive");
    }

    @Benchmark
    public HttpHeaders copyRequest() {
        HttpHeaders out = new DefaultHttpHeaders();
        HopByHop.copyRequest(agentRequest, out);
        return out;
    }

    @Benchmark
    public HttpHeaders copyRequestWithConnectionList() {
        HttpHeaders out = new DefaultHttpHeaders();
        HopByHop.copyRequest(agentRequestWithConnectionList, out);
        return out;
    }

    @Benchmark
    public HttpHeaders copyResponse() {
        HttpHeaders out = new DefaultHttpHeaders();
        HopByHop.copyResponse(upstreamResponse, out);
        return out;
    }
}
