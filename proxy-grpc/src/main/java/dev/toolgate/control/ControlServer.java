package dev.toolgate.control;

import static java.util.Objects.requireNonNull;

import dev.toolgate.approval.Approvals;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.ControlConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.SpiffeIdPattern;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.proxy.RouteSnapshot;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control API listener: gRPC over mTLS (client certificate required, verified as an X.509-SVID by the
 * sidecar's {@link TlsMaterial}, rotated material used for every new connection) serving {@code
 * toolgate.v1.TaskService}, {@code toolgate.v1.AuditService}, {@code toolgate.v1.ApprovalService} (for
 * {@code access.approvers} only, over the authorizer's approvals), Envoy's ext_authz {@code
 * envoy.service.auth.v3.Authorization} (for {@code access.extAuthz} only), {@code grpc.health.v1.Health} and
 * server reflection (v1 and v1alpha, for grpcurl and grpc_cli).
 *
 * <p>Health reports {@code SERVING} for the server and each service while {@code ready} holds (checked every
 * second) and {@code NOT_SERVING} otherwise and after {@link #close}. The same second-by-second task expires
 * approvals left undecided ({@code approvals.pendingFor}). Start with {@link #start(ProxyServer)}; thread-safe.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlServer.class);
    /** Largest request accepted: a StartTask with many grants is a few KiB. */
    private static final int MAX_REQUEST_BYTES = 64 * 1024;
    private static final int MAX_METADATA_BYTES = 8 * 1024;
    private static final int MAX_CALLS_PER_CONNECTION = 100;
    private static final List<String> SERVICES = List.of("", "toolgate.v1.TaskService", "toolgate.v1.AuditService",
            "toolgate.v1.ApprovalService", "envoy.service.auth.v3.Authorization");

    private final Server server;
    private final TailHub tails;
    private final HealthStatusManager health;
    private final ScheduledExecutorService readiness;

    private ControlServer(Server server, TailHub tails, HealthStatusManager health,
                          ScheduledExecutorService readiness) {
        this.server = server;
        this.tails = tails;
        this.health = health;
        this.readiness = readiness;
    }

    /**
     * Binds {@code dataPlane.config().control()} and starts serving on top of a running data plane: the same TLS
     * material, tasks, audit trail and approvals; health follows its readiness; Envoy's ext_authz checks are
     * answered with the route set in force on the data plane (so both decide alike, even after a route reload).
     *
     * @throws IOException if the address cannot be bound (the message names the control port and the address)
     */
    public static ControlServer start(ProxyServer dataPlane) throws IOException {
        requireNonNull(dataPlane, "dataPlane");
        return start(dataPlane.config(), dataPlane.tls(), dataPlane.tasks(), dataPlane.audit(),
                dataPlane.readiness(), dataPlane::routeSet);
    }

    /**
     * Binds {@code config.control()} and starts serving, answering Envoy's ext_authz checks with the route set
     * {@code routes} gives (its authorizer's approvals are the ones ApprovalService decides). For tests that steer
     * health by hand; everything else starts with {@link #start(ProxyServer)}.
     *
     * @param config the validated sidecar configuration ({@code control}, and {@code access}: who may call what)
     * @param tls    the sidecar's TLS material (the same as the data plane's)
     * @param tasks  the task registry the data plane authorizes calls with
     * @param audit  the audit trail whose records the tail streams
     * @param ready  whether the sidecar is ready (health follows it)
     * @param routes the route set in force, read once per check
     * @throws IOException if the address cannot be bound (the message names the control port and the address)
     */
    static ControlServer start(SidecarConfig config, TlsMaterial tls, TaskRegistry tasks, AuditTrail audit,
                                     BooleanSupplier ready, Supplier<RouteSnapshot> routes) throws IOException {
        requireNonNull(config, "config");
        requireNonNull(routes, "routes");
        requireNonNull(tls, "tls");
        requireNonNull(tasks, "tasks");
        requireNonNull(audit, "audit");
        requireNonNull(ready, "ready");
        ControlConfig control = config.control();
        // Every route set's authorizer asks the one approvals registry of the sidecar.
        Approvals approvals = routes.get().authorizer().approvals();
        List<SpiffeIdPattern> tailers = new ArrayList<>(config.access().adminPatterns());
        tailers.addAll(config.access().auditorPatterns());
        TailHub tails = TailHub.open(audit, control.tailBuffer());
        HealthStatusManager health = new HealthStatusManager();
        CallerInterceptor callers = new CallerInterceptor(config.access().controlPatterns());
        // ext_authz callers (Envoy) are authorized by access.extAuthz alone, inside the service.
        CallerInterceptor envoy = new CallerInterceptor(List.of());
        ExtAuthzService extAuthz = new ExtAuthzService(routes, audit,
                config.audit().maxWait().toNanos(), Clock.systemUTC(), config.access().extAuthzPatterns());
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress(control.address(), control.port()))
                .sslContext(new RotatingSslContext(tls))
                .handshakeTimeout(10, TimeUnit.SECONDS)
                .maxInboundMessageSize(MAX_REQUEST_BYTES)
                .maxInboundMetadataSize(MAX_METADATA_BYTES)
                .maxConcurrentCallsPerConnection(MAX_CALLS_PER_CONNECTION)
                .addService(ServerInterceptors.intercept(new TaskServiceImpl(tasks), callers))
                .addService(ServerInterceptors.intercept(new AuditServiceImpl(tails, tailers), callers))
                .addService(ServerInterceptors.intercept(new ApprovalServiceImpl(approvals,
                        config.access().approverPatterns()), callers))
                .addService(ServerInterceptors.intercept(extAuthz, envoy))
                .addService(ServerInterceptors.intercept(health.getHealthService(), callers))
                .addService(ServerInterceptors.intercept(ProtoReflectionServiceV1.newInstance(), callers))
                .addService(ServerInterceptors.intercept(v1alphaReflection(), callers))
                .build();
        try {
            server.start();
        } catch (IOException e) {
            tails.close();
            throw new IOException("control port " + control.address() + ":" + control.port() + ": "
                    + bindFailure(e), e);
        } catch (RuntimeException e) {
            tails.close();
            throw e;
        }
        ScheduledExecutorService readiness = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "toolgate-control-health");
            t.setDaemon(true);
            return t;
        });
        ControlServer cs = new ControlServer(server, tails, health, readiness);
        cs.updateHealth(ready);
        readiness.scheduleWithFixedDelay(() -> cs.updateHealth(ready), 1, 1, TimeUnit.SECONDS);
        readiness.scheduleWithFixedDelay(() -> sweep(approvals), 1, 1, TimeUnit.SECONDS);
        log.info("control API listening on {}", cs.address());
        return cs;
    }

    /** grpcurl before 1.9 and grpc_cli speak only the v1alpha reflection protocol. */
    @SuppressWarnings("deprecation")
    private static io.grpc.BindableService v1alphaReflection() {
        return io.grpc.protobuf.services.ProtoReflectionService.newInstance();
    }

    private static void sweep(Approvals approvals) {
        try {
            approvals.sweep();
        } catch (RuntimeException e) {
            log.warn("expiring approvals failed; retried in a second", e);
        }
    }

    private void updateHealth(BooleanSupplier ready) {
        boolean ok;
        try {
            ok = ready.getAsBoolean();
        } catch (RuntimeException e) {
            log.warn("readiness check failed; reporting NOT_SERVING", e);
            ok = false;
        }
        ServingStatus status = ok ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        for (String s : SERVICES) {
            health.setStatus(s, status);
        }
    }

    /** The bound address (the real port when the configuration asked for port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.getListenSockets().get(0);
    }

    public int port() {
        return address().getPort();
    }

    /** How many {@code AuditService.Tail} streams are open. */
    public int tailSubscribers() {
        return tails.subscribers();
    }

    /**
     * Reports NOT_SERVING, ends open tails ({@code UNAVAILABLE}), stops accepting calls, gives calls in flight up
     * to two seconds, then cancels what is left.
     */
    @Override
    public void close() {
        readiness.shutdownNow();
        health.enterTerminalState();
        tails.close();
        server.shutdown();
        try {
            if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(2, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** What an operator can act on from gRPC's "Failed to bind" and the JDK's or native transport's cause. */
    private static String bindFailure(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String msg = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (msg.contains("address already in use")) {
                return "address already in use (another process listens there; choose another port or stop it)";
            }
            if (msg.contains("assign requested address")) {
                return "address not available on this host (expected: an address of one of its interfaces)";
            }
            if (msg.contains("permission denied")) {
                return "permission denied (ports below 1024 need privileges)";
            }
        }
        return String.valueOf(e.getMessage());
    }
}
