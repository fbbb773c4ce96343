package dev.toolgate.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.toolgate.api.v1.AuditServiceGrpc;
import dev.toolgate.api.v1.RequestedGrant;
import dev.toolgate.api.v1.StartTaskRequest;
import dev.toolgate.api.v1.StartTaskResponse;
import dev.toolgate.api.v1.TaskServiceGrpc;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.api.v1.ApprovalServiceGrpc;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.common.Protocol;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.policy.PolicyLoader;
import dev.toolgate.policy.PolicySet;
import java.util.stream.Collectors;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.config.ControlConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.Svid;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/**
 * A real sidecar for control API tests: the data plane (route {@code weather} to a real upstream), a task registry,
 * an audit trail writing a real file, and the control server, all on 127.0.0.1 port 0 with dev-CA identities and
 * mTLS. The identities and their roles:
 * <ul>
 *   <li>{@link #AGENT}, {@link #OTHER}: plain agents ({@code agents/*});
 *   <li>{@link #ORCHESTRATOR}: in {@code access.orchestrators};
 *   <li>{@link #ADMIN}: in {@code access.admins}; {@link #AUDITOR}: in {@code access.auditors};
 *   <li>{@link #OUTSIDER}: verifies against the bundle but is outside {@code access.control};
 *   <li>{@link #ENVOY}: in {@code access.extAuthz} (and outside {@code access.control});
 *   <li>{@link #APPROVER}: in {@code access.approvers}; {@link #LEAD}: an agent that is in {@code access.approvers}
 *       too (it may decide other agents' approvals, never its own).
 * </ul>
 * Routes: {@code weather} (HTTP, {@code /api/weather}) and {@code tools-mcp} (MCP, {@code /mcp/tools}).
 */
final class ControlFixture implements AutoCloseable {
    static final SpiffeId AGENT = TestPki.AGENT;
    static final SpiffeId OTHER = SpiffeId.parse("spiffe://toolgate.test/agents/writer");
    static final SpiffeId ORCHESTRATOR = SpiffeId.parse("spiffe://toolgate.test/orchestrators/planner");
    static final SpiffeId ADMIN = SpiffeId.parse("spiffe://toolgate.test/ops/admin");
    static final SpiffeId AUDITOR = SpiffeId.parse("spiffe://toolgate.test/ops/siem");
    static final SpiffeId OUTSIDER = SpiffeId.parse("spiffe://toolgate.test/batch/job");
    static final SpiffeId ENVOY = SpiffeId.parse("spiffe://toolgate.test/mesh/envoy");
    static final SpiffeId APPROVER = SpiffeId.parse("spiffe://toolgate.test/ops/approver");
    static final SpiffeId LEAD = SpiffeId.parse("spiffe://toolgate.test/agents/lead");

    final TestPki pki;
    final TestUpstream upstream;
    final Path auditFile;
    final AuditTrail audit;
    final TaskRegistry tasks;
    final ProxyServer dataPlane;
    final ControlServer control;
    /** What the control server's health reports follow. */
    final AtomicBoolean ready;
    private final Map<SpiffeId, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final Map<SpiffeId, HttpClient> agents = new ConcurrentHashMap<>();

    private ControlFixture(TestPki pki, TestUpstream upstream, Path auditFile, AuditTrail audit, TaskRegistry tasks,
                           ProxyServer dataPlane, ControlServer control, AtomicBoolean ready) {
        this.pki = pki;
        this.upstream = upstream;
        this.auditFile = auditFile;
        this.audit = audit;
        this.tasks = tasks;
        this.dataPlane = dataPlane;
        this.control = control;
        this.ready = ready;
    }

    static ControlFixture start(Path dir) throws Exception {
        return start(dir, 10_000, 1024);
    }

    static ControlFixture start(Path dir, int maxActiveTasks, int tailBuffer) throws Exception {
        return start(dir, maxActiveTasks, tailBuffer, null);
    }

    /** With a policy document ({@code policy}: its YAML; null: no policy, grants alone limit agents). */
    static ControlFixture start(Path dir, int maxActiveTasks, int tailBuffer, String policy) throws Exception {
        TestPki pki = TestPki.create(dir);
        TestUpstream upstream = TestUpstream.start();
        Path auditFile = dir.resolve("audit").resolve("audit.jsonl");
        SidecarConfig config = Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url()),
                        new RouteConfig("tools-mcp", "/mcp/tools", null, Protocol.MCP,
                                new UpstreamConfig(URI.create(upstream.url() + "/mcp"), null, null), null, null)))
                .withAudit(new AuditConfig(auditFile, 100_000, Duration.ofSeconds(5), null, false))
                .withTasks(new TasksConfig(null, null, null, null, null, maxActiveTasks))
                .withControl(new ControlConfig("127.0.0.1", 0, tailBuffer))
                .withAccess(new AccessConfig(null, List.of("spiffe://toolgate.test/agents/*",
                        "spiffe://toolgate.test/orchestrators/*", "spiffe://toolgate.test/ops/*"),
                        List.of("spiffe://toolgate.test/orchestrators/*"), List.of(ADMIN.uri()),
                        List.of(APPROVER.uri(), LEAD.uri()), List.of(AUDITOR.uri()),
                        List.of("spiffe://toolgate.test/mesh/*")));
        AuditTrail audit = AuditTrail.open(config.audit());
        TaskRegistry tasks;
        if (policy == null) {
            tasks = Sidecar.tasks(config, audit, Clock.systemUTC());
        } else {
            PolicySet rules = PolicyLoader.load(List.of(Files.writeString(dir.resolve("policy.yaml"), policy)),
                    config.routes());
            tasks = TaskRegistry.open(config.tasks(), config.access(), new MemoryTaskStore(), config.routes().stream()
                            .map(RouteConfig::name).collect(Collectors.toSet()), Clock.systemUTC(),
                    Ticker.systemTicker(), new TaskLifecycleAudit(audit, Clock.systemUTC(), Duration.ofSeconds(2)),
                    () -> rules);
        }
        ProxyServer dataPlane = Sidecar.builder(pki, config).audit(audit).tasks(tasks).build();
        AtomicBoolean ready = new AtomicBoolean(true);
        ControlServer control = ControlServer.start(config, pki.sidecarTls(), tasks, audit, ready::get,
                dataPlane::routeSet);
        return new ControlFixture(pki, upstream, auditFile, audit, tasks, dataPlane, control, ready);
    }

    /** A channel presenting {@code id}'s SVID, verifying the sidecar by host name against the dev CA. */
    ManagedChannel channel(SpiffeId id) {
        return channels.computeIfAbsent(id, i -> {
            try {
                Svid svid = pki.issue(i);
                return NettyChannelBuilder.forAddress("127.0.0.1", control.port())
                        .sslContext(GrpcSslContexts.forClient()
                                .keyManager(svid.key(), svid.chain().toArray(new X509Certificate[0]))
                                .trustManager(pki.ca().certificate())
                                .build())
                        .build();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    TaskServiceGrpc.TaskServiceBlockingStub tasks(SpiffeId caller) {
        return TaskServiceGrpc.newBlockingStub(channel(caller)).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    ApprovalServiceGrpc.ApprovalServiceBlockingStub approvals(SpiffeId caller) {
        return ApprovalServiceGrpc.newBlockingStub(channel(caller)).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    AuditServiceGrpc.AuditServiceStub tail(SpiffeId caller) {
        return AuditServiceGrpc.newStub(channel(caller));
    }

    /** Starts a task for {@code agent} on route weather with {@code operations}. */
    StartTaskResponse start(SpiffeId agent, String purpose, String... operations) {
        return tasks(agent).startTask(StartTaskRequest.newBuilder().setPurpose(purpose)
                .addGrants(RequestedGrant.newBuilder().setRoute("weather").addAllOperations(List.of(operations)))
                .build());
    }

    /** A GET through the data plane as {@code agent} with {@code token}. */
    HttpResponse<String> call(SpiffeId agent, String path, String token) throws Exception {
        HttpClient client = agents.computeIfAbsent(agent, a -> {
            try {
                return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .sslContext(pki.jdkClient(a)).build();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + dataPlane.port() + path))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The audit file's lines once the writer has written everything accepted so far. */
    List<String> auditLines() throws Exception {
        AuditRecords.awaitWritten(audit);
        return Files.readAllLines(auditFile);
    }

    static StatusRuntimeException refused(Status.Code code, ThrowingCallable call) {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call);
        assertThat(e).as("the call failed with %s", code).isNotNull();
        assertThat(e.getStatus().getCode()).as(String.valueOf(e.getStatus())).isEqualTo(code);
        return e;
    }

    @Override
    public void close() throws Exception {
        for (ManagedChannel c : channels.values()) {
            c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        control.close();
        dataPlane.close();
        tasks.close();
        audit.close();
        upstream.close();
    }
}
