package dev.toolgate.control;

import static dev.toolgate.control.ControlFixture.ADMIN;
import static dev.toolgate.control.ControlFixture.AGENT;
import static dev.toolgate.control.ControlFixture.ORCHESTRATOR;
import static dev.toolgate.control.ControlFixture.OTHER;
import static dev.toolgate.control.ControlFixture.OUTSIDER;
import static dev.toolgate.control.ControlFixture.refused;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Duration;
import dev.toolgate.api.v1.DelegateTaskRequest;
import dev.toolgate.api.v1.DelegateTaskResponse;
import dev.toolgate.api.v1.EndTaskRequest;
import dev.toolgate.api.v1.GetTaskRequest;
import dev.toolgate.api.v1.Grant;
import dev.toolgate.api.v1.GrantState;
import dev.toolgate.api.v1.ListTasksRequest;
import dev.toolgate.api.v1.RequestedGrant;
import dev.toolgate.api.v1.RevokeGrantRequest;
import dev.toolgate.api.v1.RevokeTaskRequest;
import dev.toolgate.api.v1.StartTaskRequest;
import dev.toolgate.api.v1.StartTaskResponse;
import dev.toolgate.api.v1.Task;
import dev.toolgate.api.v1.TaskServiceGrpc;
import dev.toolgate.api.v1.TaskState;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.Svid;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TaskService over real mTLS: every RPC, each answered as the caller's identity allows, and each refusal with the
 * status and a description a person can act on. Tasks started here authorize data-plane calls at once, and ending
 * them denies the next call: the control API and the data plane share one registry.
 */
class TaskServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static ControlFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = ControlFixture.start(dir);
    }

    @AfterAll
    static void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    private static RequestedGrant.Builder weather(String... ops) {
        return RequestedGrant.newBuilder().setRoute("weather").addAllOperations(List.of(ops));
    }

    private static Duration minutes(long m) {
        return Duration.newBuilder().setSeconds(m * 60).build();
    }

    // ---- StartTask ----------------------------------------------------------------------------------------

    @Test
    void startTaskAnswersTheTaskAndAToken_andTheTokenAuthorizesDataPlaneCalls() throws Exception {
        Instant before = Instant.now();
        StartTaskResponse res = f.tasks(AGENT).startTask(StartTaskRequest.newBuilder()
                .setPurpose("forecast for Oslo").setTtl(minutes(10))
                .addGrants(weather("GET /forecast/*").setBudget(2))
                .build());
        Task t = res.getTask();
        assertThat(res.getToken()).startsWith("tg1.");
        assertThat(t.getTaskId()).matches("t-[0-9a-f]{24}");
        assertThat(t.getAgent()).isEqualTo(AGENT.uri());
        assertThat(t.getStartedBy()).isEqualTo(AGENT.uri());
        assertThat(t.getParentTaskId()).isEmpty();
        assertThat(t.getPurpose()).isEqualTo("forecast for Oslo");
        assertThat(t.getState()).isEqualTo(TaskState.TASK_STATE_ACTIVE);
        assertThat(t.getExpiresAt().getSeconds() - t.getCreatedAt().getSeconds()).isBetween(599L, 600L);
        assertThat(t.getCreatedAt().getSeconds()).isGreaterThanOrEqualTo(before.getEpochSecond());
        Grant g = t.getGrants(0);
        assertThat(g.getGrantId()).isEqualTo("g1");
        assertThat(g.getRoute()).isEqualTo("weather");
        assertThat(g.getOperationsList()).containsExactly("GET /forecast/*");
        assertThat(g.getBudget()).isEqualTo(2);
        assertThat(g.getRemaining()).isEqualTo(2);
        assertThat(g.getState()).isEqualTo(GrantState.GRANT_STATE_ACTIVE);

        HttpResponse<String> call = f.call(AGENT, "/api/weather/forecast/oslo", res.getToken());
        assertThat(call.statusCode()).isEqualTo(200);
        Task after = f.tasks(AGENT).getTask(GetTaskRequest.newBuilder().setTaskId(t.getTaskId()).build());
        assertThat(after.getGrants(0).getRemaining()).isEqualTo(1);

        // The lifecycle record names the caller as the actor; the token is in no record.
        List<String> lines = f.auditLines();
        assertThat(lines).anySatisfy(l -> {
            JsonNode r = JSON.readTree(l);
            assertThat(r.path("event").asText()).isEqualTo("start");
            assertThat(r.path("task_id").asText()).isEqualTo(t.getTaskId());
            assertThat(r.path("actor").asText()).isEqualTo(AGENT.uri());
        });
        assertThat(String.join("\n", lines)).doesNotContain(res.getToken());
    }

    @Test
    void startTaskWithoutBudgetOrTtlHasNoLimitAndTheDefaultLifetime() {
        Task t = f.start(AGENT, "no limits", "GET /**").getTask();
        assertThat(t.getGrants(0).hasBudget()).isFalse();
        assertThat(t.getGrants(0).hasRemaining()).isFalse();
        // tasks.defaultTtl: 15 minutes
        assertThat(t.getExpiresAt().getSeconds() - t.getCreatedAt().getSeconds()).isBetween(899L, 900L);
    }

    @Test
    void startTaskForAnotherAgentNeedsAnOrchestrator() {
        StartTaskRequest forOther = StartTaskRequest.newBuilder().setAgent(OTHER.uri()).setPurpose("on behalf")
                .addGrants(weather("GET /forecast/*")).build();
        StatusRuntimeException e = refused(Status.Code.PERMISSION_DENIED, () -> f.tasks(AGENT).startTask(forOther));
        assertThat(e.getStatus().getDescription()).contains(AGENT.uri(), "access.orchestrators");

        Task t = f.tasks(ORCHESTRATOR).startTask(forOther).getTask();
        assertThat(t.getAgent()).isEqualTo(OTHER.uri());
        assertThat(t.getStartedBy()).isEqualTo(ORCHESTRATOR.uri());
        // Whoever started it may see it; the agent it is for too.
        assertThat(f.tasks(OTHER).getTask(GetTaskRequest.newBuilder().setTaskId(t.getTaskId()).build())
                .getStartedBy()).isEqualTo(ORCHESTRATOR.uri());
    }

    @Test
    void startTaskRefusesWhatMayNotBeGrantedNamingTheField() {
        TaskServiceGrpc.TaskServiceBlockingStub tasks = f.tasks(AGENT);
        StartTaskRequest ok = StartTaskRequest.newBuilder().setPurpose("p").addGrants(weather("GET /x")).build();
        assertThat(invalid(tasks, ok.toBuilder().setGrants(0, weather("GET /x").setRoute("mail")).build()))
                .contains("grants[0].route", "\"mail\"", "weather");
        assertThat(invalid(tasks, ok.toBuilder().setGrants(0, weather("FETCH")).build())).contains("grants[0]");
        assertThat(invalid(tasks, ok.toBuilder().setGrants(0, weather()).build())).contains("grants[0].operations");
        assertThat(invalid(tasks, ok.toBuilder().setGrants(0, weather("GET /x").setBudget(0)).build()))
                .contains("grants[0].budget");
        // conditions are CEL now (policy issue): one that does not compile is refused, naming the field
        assertThat(invalid(tasks, ok.toBuilder().setGrants(0, weather("GET /x").setWhen("1 +")).build()))
                .contains("grants[0].when");
        assertThat(invalid(tasks, ok.toBuilder().clearGrants().build())).contains("grants: none");
        assertThat(invalid(tasks, ok.toBuilder().clearPurpose().build())).contains("purpose: missing");
        assertThat(invalid(tasks, ok.toBuilder().setTtl(minutes(24 * 60)).build()))
                .contains("ttl", "maximum task lifetime");
        assertThat(invalid(tasks, ok.toBuilder().setTtl(Duration.newBuilder().setSeconds(-5)).build()))
                .contains("ttl");
        assertThat(invalid(tasks, ok.toBuilder().setTtl(Duration.newBuilder().setSeconds(5).setNanos(-1)).build()))
                .contains("ttl: not a valid google.protobuf.Duration");
        assertThat(invalid(tasks, ok.toBuilder().setGrants(0, weather("GET /x").setTtl(minutes(60))).build()))
                .contains("grants[0].ttl", "outlives its task");
        assertThat(invalid(tasks, ok.toBuilder().setAgent("https://example.com/a").build())).startsWith("agent: ");
    }

    private static String invalid(TaskServiceGrpc.TaskServiceBlockingStub tasks, StartTaskRequest req) {
        return refused(Status.Code.INVALID_ARGUMENT, () -> tasks.startTask(req)).getStatus().getDescription();
    }

    // ---- DelegateTask -------------------------------------------------------------------------------------

    @Test
    void delegateTaskGivesAnotherAgentPartOfTheTask_endingTheParentEndsTheChild() throws Exception {
        StartTaskResponse parent = f.tasks(AGENT).startTask(StartTaskRequest.newBuilder().setPurpose("research")
                .addGrants(weather("GET /forecast/**").setBudget(10)).build());
        DelegateTaskResponse child = f.tasks(AGENT).delegateTask(DelegateTaskRequest.newBuilder()
                .setParentToken(parent.getToken()).setAgent(OTHER.uri()).setPurpose("fetch Bergen")
                .addGrants(weather("GET /forecast/bergen").setBudget(3)).build());
        Task c = child.getTask();
        assertThat(child.getToken()).startsWith("tg1.").isNotEqualTo(parent.getToken());
        assertThat(c.getAgent()).isEqualTo(OTHER.uri());
        assertThat(c.getStartedBy()).isEqualTo(AGENT.uri());
        assertThat(c.getParentTaskId()).isEqualTo(parent.getTask().getTaskId());
        assertThat(c.getExpiresAt().getSeconds()).isLessThanOrEqualTo(parent.getTask().getExpiresAt().getSeconds());

        assertThat(f.call(OTHER, "/api/weather/forecast/bergen", child.getToken()).statusCode()).isEqualTo(200);
        // The child's token is bound to the agent it was delegated to.
        assertThat(f.call(AGENT, "/api/weather/forecast/bergen", child.getToken()).statusCode()).isEqualTo(403);

        f.tasks(AGENT).endTask(EndTaskRequest.newBuilder().setTaskId(parent.getTask().getTaskId()).build());
        assertThat(f.tasks(OTHER).getTask(GetTaskRequest.newBuilder().setTaskId(c.getTaskId()).build()).getState())
                .isEqualTo(TaskState.TASK_STATE_REVOKED);
        HttpResponse<String> denied = f.call(OTHER, "/api/weather/forecast/bergen", child.getToken());
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(denied.body()).path("code").asText()).isEqualTo("DENY_TASK_ENDED");
    }

    @Test
    void delegateTaskRefusals() {
        StartTaskResponse parent = f.start(AGENT, "parent", "GET /forecast/*");
        DelegateTaskRequest ok = DelegateTaskRequest.newBuilder().setParentToken(parent.getToken())
                .setAgent(OTHER.uri()).setPurpose("child").addGrants(weather("GET /forecast/oslo")).build();

        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(AGENT).delegateTask(
                ok.toBuilder().clearParentToken().build())).getStatus().getDescription())
                .startsWith("parent_token: missing");
        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(AGENT).delegateTask(
                ok.toBuilder().clearAgent().build())).getStatus().getDescription()).startsWith("agent: missing");
        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(AGENT).delegateTask(
                ok.toBuilder().setGrants(0, weather("DELETE /forecast/oslo")).build())).getStatus().getDescription())
                .contains("grants[0]", "not within the parent");
        assertThat(refused(Status.Code.NOT_FOUND, () -> f.tasks(AGENT).delegateTask(
                ok.toBuilder().setParentToken("tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").build()))
                .getStatus().getDescription()).contains("unknown parent task token");
        // Only the parent task's own agent may delegate it, even holding its token.
        assertThat(refused(Status.Code.PERMISSION_DENIED, () -> f.tasks(OTHER).delegateTask(ok))
                .getStatus().getDescription()).contains("only its subject may delegate");
        // Never logged or echoed: the token is in no description.
        f.tasks(AGENT).endTask(EndTaskRequest.newBuilder().setTaskId(parent.getTask().getTaskId()).build());
        StatusRuntimeException ended = refused(Status.Code.FAILED_PRECONDITION,
                () -> f.tasks(AGENT).delegateTask(ok));
        assertThat(ended.getStatus().getDescription()).contains("is ended").doesNotContain(parent.getToken());
    }

    // ---- EndTask, RevokeTask, RevokeGrant ---------------------------------------------------------------

    @Test
    void endTaskDeniesTheNextCall_andASecondEndIsAFailedPrecondition() throws Exception {
        StartTaskResponse s = f.start(AGENT, "end me", "GET /forecast/*");
        String id = s.getTask().getTaskId();
        assertThat(f.call(AGENT, "/api/weather/forecast/oslo", s.getToken()).statusCode()).isEqualTo(200);

        Task ended = f.tasks(AGENT).endTask(EndTaskRequest.newBuilder().setTaskId(id).setReason("done").build());
        assertThat(ended.getState()).isEqualTo(TaskState.TASK_STATE_ENDED);
        HttpResponse<String> next = f.call(AGENT, "/api/weather/forecast/oslo", s.getToken());
        assertThat(next.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(next.body()).path("code").asText()).isEqualTo("DENY_TASK_ENDED");

        assertThat(refused(Status.Code.FAILED_PRECONDITION, () -> f.tasks(AGENT).endTask(
                EndTaskRequest.newBuilder().setTaskId(id).build())).getStatus().getDescription())
                .contains(id, "already ended");
        assertThat(f.auditLines()).anySatisfy(l -> {
            JsonNode r = JSON.readTree(l);
            assertThat(r.path("event").asText()).isEqualTo("end");
            assertThat(r.path("task_id").asText()).isEqualTo(id);
            assertThat(r.path("reason").asText()).isEqualTo("done");
        });
    }

    @Test
    void endRevokeAndGetOfAnotherAgentsTaskAreNotFound_anAdminMayDoAll() {
        String id = f.start(AGENT, "mine", "GET /forecast/*").getTask().getTaskId();
        assertThat(refused(Status.Code.NOT_FOUND, () -> f.tasks(OTHER).endTask(
                EndTaskRequest.newBuilder().setTaskId(id).build())).getStatus().getDescription())
                .isEqualTo("no task " + id);
        refused(Status.Code.NOT_FOUND, () -> f.tasks(OTHER).revokeTask(
                RevokeTaskRequest.newBuilder().setTaskId(id).build()));
        refused(Status.Code.NOT_FOUND, () -> f.tasks(OTHER).revokeGrant(
                RevokeGrantRequest.newBuilder().setTaskId(id).setGrantId("g1").build()));
        refused(Status.Code.NOT_FOUND, () -> f.tasks(OTHER).getTask(GetTaskRequest.newBuilder().setTaskId(id).build()));

        assertThat(f.tasks(ADMIN).getTask(GetTaskRequest.newBuilder().setTaskId(id).build()).getAgent())
                .isEqualTo(AGENT.uri());
        Task revoked = f.tasks(ADMIN).revokeTask(RevokeTaskRequest.newBuilder().setTaskId(id)
                .setReason("incident 42").build());
        assertThat(revoked.getState()).isEqualTo(TaskState.TASK_STATE_REVOKED);
        assertThat(f.tasks(AGENT).getTask(GetTaskRequest.newBuilder().setTaskId(id).build()).getState())
                .isEqualTo(TaskState.TASK_STATE_REVOKED);
    }

    @Test
    void unknownOrMissingIdsAreNotFoundOrInvalid() {
        String unknown = "t-000000000000000000000000";
        refused(Status.Code.NOT_FOUND, () -> f.tasks(ADMIN).getTask(GetTaskRequest.newBuilder().setTaskId(unknown)
                .build()));
        refused(Status.Code.NOT_FOUND, () -> f.tasks(ADMIN).endTask(EndTaskRequest.newBuilder().setTaskId(unknown)
                .build()));
        refused(Status.Code.NOT_FOUND, () -> f.tasks(ADMIN).revokeTask(RevokeTaskRequest.newBuilder()
                .setTaskId(unknown).build()));
        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(AGENT).getTask(
                GetTaskRequest.getDefaultInstance())).getStatus().getDescription()).startsWith("task_id: missing");
        refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(AGENT).endTask(EndTaskRequest.getDefaultInstance()));
        refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(AGENT).revokeTask(RevokeTaskRequest.getDefaultInstance()));
        refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(AGENT).revokeGrant(
                RevokeGrantRequest.getDefaultInstance()));
    }

    @Test
    void revokeGrantStopsThatGrantOnly() throws Exception {
        StartTaskResponse s = f.tasks(AGENT).startTask(StartTaskRequest.newBuilder().setPurpose("two grants")
                .addGrants(weather("GET /forecast/*")).addGrants(weather("GET /alerts")).build());
        String id = s.getTask().getTaskId();
        Task t = f.tasks(AGENT).revokeGrant(RevokeGrantRequest.newBuilder().setTaskId(id).setGrantId("g2").build());
        assertThat(t.getGrants(0).getState()).isEqualTo(GrantState.GRANT_STATE_ACTIVE);
        assertThat(t.getGrants(1).getState()).isEqualTo(GrantState.GRANT_STATE_REVOKED);
        assertThat(f.call(AGENT, "/api/weather/forecast/oslo", s.getToken()).statusCode()).isEqualTo(200);
        HttpResponse<String> alerts = f.call(AGENT, "/api/weather/alerts", s.getToken());
        assertThat(JSON.readTree(alerts.body()).path("code").asText()).isEqualTo("DENY_NO_GRANT");

        assertThat(refused(Status.Code.NOT_FOUND, () -> f.tasks(AGENT).revokeGrant(RevokeGrantRequest.newBuilder()
                .setTaskId(id).setGrantId("g9").build())).getStatus().getDescription()).contains("has no grant g9");
        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(AGENT).revokeGrant(
                RevokeGrantRequest.newBuilder().setTaskId(id).build())).getStatus().getDescription())
                .startsWith("grant_id: missing");
    }

    // ---- ListTasks ----------------------------------------------------------------------------------------

    @Test
    void listTasksShowsWhatTheCallerMaySee_filteredByAgentAndState() {
        SpiffeId lister = SpiffeId.parse("spiffe://toolgate.test/agents/lister");
        String first = f.start(lister, "first", "GET /forecast/*").getTask().getTaskId();
        String second = f.start(lister, "second", "GET /forecast/*").getTask().getTaskId();
        f.tasks(lister).endTask(EndTaskRequest.newBuilder().setTaskId(first).build());
        String others = f.start(OTHER, "not the lister's", "GET /forecast/*").getTask().getTaskId();

        List<Task> own = f.tasks(lister).listTasks(ListTasksRequest.getDefaultInstance()).getTasksList();
        assertThat(own).extracting(Task::getTaskId).containsExactly(second, first); // newest first
        assertThat(f.tasks(lister).listTasks(ListTasksRequest.newBuilder().setState(TaskState.TASK_STATE_ACTIVE)
                .build()).getTasksList()).extracting(Task::getTaskId).containsExactly(second);
        assertThat(f.tasks(lister).listTasks(ListTasksRequest.newBuilder().setAgent(OTHER.uri()).build())
                .getTasksList()).isEmpty();

        List<Task> all = f.tasks(ADMIN).listTasks(ListTasksRequest.getDefaultInstance()).getTasksList();
        assertThat(all).extracting(Task::getTaskId).contains(first, second, others);
        assertThat(f.tasks(ADMIN).listTasks(ListTasksRequest.newBuilder().setAgent(lister.uri())
                .setState(TaskState.TASK_STATE_ENDED).build()).getTasksList())
                .extracting(Task::getTaskId).containsExactly(first);

        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(ADMIN).listTasks(
                ListTasksRequest.newBuilder().setAgent("not-an-id").build())).getStatus().getDescription())
                .startsWith("agent: ");
        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.tasks(ADMIN).listTasks(
                ListTasksRequest.newBuilder().setStateValue(42).build())).getStatus().getDescription())
                .startsWith("state: unknown value");
    }

    // ---- callers ------------------------------------------------------------------------------------------

    @Test
    void aCallerOutsideControlAllowedIdsIsRefusedEveryRpc() {
        StatusRuntimeException e = refused(Status.Code.PERMISSION_DENIED,
                () -> f.tasks(OUTSIDER).listTasks(ListTasksRequest.getDefaultInstance()));
        assertThat(e.getStatus().getDescription()).contains(OUTSIDER.uri(), "access.control");
        refused(Status.Code.PERMISSION_DENIED, () -> f.start(OUTSIDER, "x", "GET /x"));
    }

    @Test
    void noClientCertificateOrAnUntrustedOneFailsTheHandshake() throws Exception {
        ManagedChannel anonymous = NettyChannelBuilder.forAddress("127.0.0.1", f.control.port())
                .sslContext(GrpcSslContexts.forClient().trustManager(f.pki.ca().certificate()).build()).build();
        DevCa rogue = DevCa.openOrCreate(dir.resolve("rogue-ca"), "toolgate.test");
        Svid forged = rogue.issue(ADMIN);
        ManagedChannel untrusted = NettyChannelBuilder.forAddress("127.0.0.1", f.control.port())
                .sslContext(GrpcSslContexts.forClient()
                        .keyManager(forged.key(), forged.chain().toArray(new X509Certificate[0]))
                        .trustManager(f.pki.ca().certificate()).build()).build();
        try {
            for (ManagedChannel c : List.of(anonymous, untrusted)) {
                StatusRuntimeException e = refused(Status.Code.UNAVAILABLE, () -> TaskServiceGrpc.newBlockingStub(c)
                        .withDeadlineAfter(10, TimeUnit.SECONDS).listTasks(ListTasksRequest.getDefaultInstance()));
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            }
        } finally {
            anonymous.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            untrusted.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
