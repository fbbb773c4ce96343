package dev.toolgate.demo;

import com.google.protobuf.Duration;
import dev.toolgate.api.v1.EndTaskRequest;
import dev.toolgate.api.v1.RequestedGrant;
import dev.toolgate.api.v1.StartTaskRequest;
import dev.toolgate.api.v1.StartTaskResponse;
import dev.toolgate.api.v1.TaskServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.util.concurrent.TimeUnit;

/**
 * The demo agent's side of the control API: it starts and ends its task with {@code toolgate.v1.TaskService} over
 * mTLS, presenting its own SVID (what an agent with a gRPC stack does; the JSON endpoints mirror it).
 */
final class DemoControl implements AutoCloseable {
    /** A started task: its id and token, and the line the demo prints. */
    record Started(String taskId, String token, ScriptedAgent.Outcome outcome) {}

    private final ManagedChannel channel;
    private final TaskServiceGrpc.TaskServiceBlockingStub tasks;

    /**
     * @param tls the agent's client context: its SVID, the trust bundle, the sidecar verified by its SPIFFE ID
     */
    DemoControl(int port, SslContext tls) {
        channel = NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(tls).build();
        tasks = TaskServiceGrpc.newBlockingStub(channel);
    }

    /** StartTask for the caller itself: forecasts (5 calls), acme issue search over MCP, CRM reads; 10 minutes. */
    Started startTask() {
        StartTaskRequest req = StartTaskRequest.newBuilder()
                .setPurpose("plan a weekend trip to Oslo")
                .setTtl(Duration.newBuilder().setSeconds(600))
                .addGrants(RequestedGrant.newBuilder().setRoute("weather").addOperations("GET /v1/forecast")
                        .setBudget(5))
                .addGrants(RequestedGrant.newBuilder().setRoute("github-mcp")
                        .addOperations("mcp:tools/list").addOperations("mcp:tools/call:search_issues"))
                .addGrants(RequestedGrant.newBuilder().setRoute("crm").addOperations("GET /customers/*"))
                .build();
        try {
            StartTaskResponse res = tasks.withDeadlineAfter(10, TimeUnit.SECONDS).startTask(req);
            return new Started(res.getTask().getTaskId(), res.getToken(), new ScriptedAgent.Outcome(
                    "TaskService.StartTask (3 grants, 10m)", "gRPC", "OK",
                    "task " + res.getTask().getTaskId() + " started; token returned to the agent only"));
        } catch (StatusRuntimeException e) {
            return new Started(null, null, new ScriptedAgent.Outcome("TaskService.StartTask", "gRPC",
                    e.getStatus().getCode().name(), String.valueOf(e.getStatus().getDescription())));
        }
    }

    /** EndTask: the task's grants stop working on the next call. */
    ScriptedAgent.Outcome endTask(String taskId, String reason) {
        try {
            tasks.withDeadlineAfter(10, TimeUnit.SECONDS).endTask(EndTaskRequest.newBuilder().setTaskId(taskId)
                    .setReason(reason).build());
            return new ScriptedAgent.Outcome("TaskService.EndTask", "gRPC", "OK", "task " + taskId + " ended");
        } catch (StatusRuntimeException e) {
            return new ScriptedAgent.Outcome("TaskService.EndTask", "gRPC", e.getStatus().getCode().name(),
                    String.valueOf(e.getStatus().getDescription()));
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
