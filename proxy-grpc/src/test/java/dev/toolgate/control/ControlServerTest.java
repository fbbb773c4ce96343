package dev.toolgate.control;

import static dev.toolgate.control.ControlFixture.ADMIN;
import static dev.toolgate.control.ControlFixture.AGENT;
import static dev.toolgate.control.ControlFixture.refused;
import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.api.v1.EndTaskRequest;
import dev.toolgate.api.v1.TailRequest;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control server itself: health, reflection, limits and shutdown, over real mTLS. */
class ControlServerTest {
    @TempDir
    Path dir;

    @Test
    void healthIsServingWhileTheSidecarIsReady_andReflectionListsTheServices() throws Exception {
        try (ControlFixture f = ControlFixture.start(dir)) {
            HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(f.channel(AGENT))
                    .withDeadlineAfter(10, TimeUnit.SECONDS);
            for (String service : List.of("", "toolgate.v1.TaskService", "toolgate.v1.AuditService",
                    "toolgate.v1.ApprovalService")) {
                assertThat(health.check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus())
                        .as(service).isEqualTo(ServingStatus.SERVING);
            }
            refused(Status.Code.NOT_FOUND, () -> health.check(HealthCheckRequest.newBuilder()
                    .setService("toolgate.v1.Nope").build()));

            f.ready.set(false);
            AuditServiceTest.await(() -> health.check(HealthCheckRequest.getDefaultInstance()).getStatusValue(),
                    ServingStatus.NOT_SERVING_VALUE);
            f.ready.set(true);
            AuditServiceTest.await(() -> health.check(HealthCheckRequest.getDefaultInstance()).getStatusValue(),
                    ServingStatus.SERVING_VALUE);

            CompletableFuture<ServerReflectionResponse> listed = new CompletableFuture<>();
            StreamObserver<ServerReflectionRequest> reflection = ServerReflectionGrpc.newStub(f.channel(AGENT))
                    .serverReflectionInfo(new StreamObserver<>() {
                        @Override
                        public void onNext(ServerReflectionResponse value) {
                            listed.complete(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                            listed.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {}
                    });
            reflection.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
            assertThat(listed.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList())
                    .extracting(ServiceResponse::getName)
                    .contains("toolgate.v1.TaskService", "toolgate.v1.AuditService", "toolgate.v1.ApprovalService",
                            "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection");
            reflection.onCompleted();

            // grpcurl before 1.9 and grpc_cli ask with the v1alpha protocol.
            CompletableFuture<io.grpc.reflection.v1alpha.ServerReflectionResponse> alpha = new CompletableFuture<>();
            StreamObserver<io.grpc.reflection.v1alpha.ServerReflectionRequest> old =
                    io.grpc.reflection.v1alpha.ServerReflectionGrpc.newStub(f.channel(AGENT))
                            .serverReflectionInfo(new StreamObserver<>() {
                                @Override
                                public void onNext(io.grpc.reflection.v1alpha.ServerReflectionResponse value) {
                                    alpha.complete(value);
                                }

                                @Override
                                public void onError(Throwable t) {
                                    alpha.completeExceptionally(t);
                                }

                                @Override
                                public void onCompleted() {}
                            });
            old.onNext(io.grpc.reflection.v1alpha.ServerReflectionRequest.newBuilder()
                    .setFileContainingSymbol("toolgate.v1.TaskService").build());
            assertThat(alpha.get(10, TimeUnit.SECONDS).getFileDescriptorResponse().getFileDescriptorProtoCount())
                    .isPositive();
            old.onCompleted();
        }
    }

    @Test
    void startTaskBeyondTasksMaxActiveIsResourceExhausted() throws Exception {
        try (ControlFixture f = ControlFixture.start(dir, 1, 1024)) {
            String first = f.start(AGENT, "the only one", "GET /x").getTask().getTaskId();
            assertThat(refused(Status.Code.RESOURCE_EXHAUSTED, () -> f.start(AGENT, "one too many", "GET /x"))
                    .getStatus().getDescription()).contains("tasks.maxActive");
            f.tasks(AGENT).endTask(EndTaskRequest.newBuilder().setTaskId(first).build());
        }
    }

    @Test
    void closingEndsOpenTailsWithUnavailable() throws Exception {
        ControlFixture f = ControlFixture.start(dir);
        try {
            TailClient tail = TailClient.open(f.tail(ADMIN), TailRequest.getDefaultInstance());
            AuditServiceTest.await(f.control::tailSubscribers, 1);
            f.control.close();
            Status s = tail.status();
            assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(s.getDescription()).isEqualTo("the sidecar is shutting down");
            assertThat(f.control.tailSubscribers()).isZero();
        } finally {
            f.close();
        }
    }
}
