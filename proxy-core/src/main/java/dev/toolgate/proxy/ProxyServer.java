package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.approval.ApprovalAudit;
import dev.toolgate.approval.Approvals;
import dev.toolgate.audit.ApprovalLifecycleAudit;
import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.authz.Authorizer;
import dev.toolgate.authz.CallDecider;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.call.McpParser;
import dev.toolgate.call.RouteTable;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.credential.Credentials;
import dev.toolgate.config.JwtSvidConfig;
import dev.toolgate.identity.JwtBundles;
import dev.toolgate.identity.JwtSvidValidator;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.ProxyMetrics;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent-facing data plane: an mTLS listener (client certificate required unless JWT-SVIDs are enabled, ALPN h2
 * and http/1.1) that routes
 * each request, asks the {@link Authorizer} whether the caller's task allows it, and forwards it to the route's
 * upstream or answers the denial. It also serves the task endpoints ({@code /_toolgate/v1/tasks}).
 *
 * <p>Start with {@link #start}; {@link #close} stops accepting, lets exchanges in flight finish for a short grace
 * period and releases every thread. Thread-safe.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final DnsAddressResolverGroup resolver;
    private final Channel listener;
    private final ExecutorService taskExecutor;
    private final TaskRegistry tasks;
    private final Authorizer authorizer;
    private final List<RouteConfig> routes;

    private ProxyServer(EventLoopGroup boss, EventLoopGroup workers, DnsAddressResolverGroup resolver,
                        Channel listener, ExecutorService taskExecutor, TaskRegistry tasks, Authorizer authorizer,
                        List<RouteConfig> routes) {
        this.taskExecutor = taskExecutor;
        this.tasks = tasks;
        this.authorizer = authorizer;
        this.routes = routes;
        this.boss = boss;
        this.workers = workers;
        this.resolver = resolver;
        this.listener = listener;
    }

    /**
     * Binds the listener of {@code config} and starts serving.
     *
     * @param config the validated sidecar configuration (listener, limits, timeouts, routes)
     * @param tls    the sidecar's TLS material (its SVID and the trust bundles agents are verified against)
     * @param audit  the audit trail every decision and outcome is written to (owned by the caller)
     * @param tasks  the tasks whose grants authorize calls (owned by the caller)
     * @param credentials the upstream credentials injected per route (told when a task ends)
     * @param metrics where calls, decisions and failures are counted
     * @param spans  the span of each call ({@link CallSpans#noop()} for tracing off)
     * @param workerThreads event loop threads; {@code 0} for one per core
     * @throws SSLException if an upstream's TLS context cannot be built
     * @throws InterruptedException if interrupted while binding
     * @throws io.netty.channel.ChannelException if the address cannot be bound
     */
    public static ProxyServer start(SidecarConfig config, TlsMaterial tls, AuditTrail audit, TaskRegistry tasks,
                                    Credentials credentials, ProxyMetrics metrics, CallSpans spans,
                                    int workerThreads)
            throws SSLException, InterruptedException {
        return start(config, tls, JwtBundles.none(), audit, tasks, credentials, metrics, spans, workerThreads);
    }

    /**
     * As {@link #start(SidecarConfig, TlsMaterial, AuditTrail, TaskRegistry, Credentials, ProxyMetrics, CallSpans,
     * int)}, with the JWT bundles that JWT-SVIDs are verified against when {@code listener.jwtSvid.enabled} (unused
     * otherwise; {@link JwtBundles#none()} refuses every token).
     */
    public static ProxyServer start(SidecarConfig config, TlsMaterial tls, JwtBundles jwtBundles, AuditTrail audit,
                                    TaskRegistry tasks, Credentials credentials, ProxyMetrics metrics,
                                    CallSpans spans, int workerThreads)
            throws SSLException, InterruptedException {
        requireNonNull(config, "config");
        requireNonNull(jwtBundles, "jwtBundles");
        requireNonNull(tls, "tls");
        requireNonNull(audit, "audit");
        requireNonNull(tasks, "tasks");
        requireNonNull(credentials, "credentials");
        requireNonNull(metrics, "metrics");
        requireNonNull(spans, "spans");
        EventLoopGroup boss = Transports.newGroup(1);
        EventLoopGroup workers = Transports.newGroup(workerThreads);
        ExecutorService taskExecutor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "toolgate-tasks");
            t.setDaemon(true);
            return t;
        });
        DnsAddressResolverGroup resolver = new DnsAddressResolverGroup(
                new DnsNameResolverBuilder().datagramChannelType(Transports.datagramChannel()));
        try {
            Map<String, Upstream> upstreams = new HashMap<>();
            Map<String, ArgumentCapture> captures = new HashMap<>();
            for (RouteConfig r : config.routes()) {
                captures.put(r.name(), ArgumentCapture.of(r.audit()));
                upstreams.put(r.name(), new Upstream(r, r.timeouts().orElse(config.timeouts()),
                        upstreamTls(r.upstream(), tls), r.upstream().tls() && r.upstream().spiffeId() == null,
                        resolver));
            }
            Authorizer authorizer = authorizer(config, tasks, audit);
            ProxyRuntime rt = new ProxyRuntime(RouteTable.of(config.routes()), upstreams, config.limits(), audit,
                    config.audit().maxWait().toNanos(), Clock.systemUTC(), metrics, spans,
                    config.listener().allowedIdPatterns(), new CallDecider(authorizer), new TaskApi(tasks),
                    taskExecutor, credentials, new McpParser(), new McpSessions(), new McpToolDigests(),
                    jwtValidator(config, jwtBundles), captures);
            tasks.onEnded(t -> credentials.taskEnded(t.id()));
            metrics.gauge("toolgate.audit.queue.depth", "Audit records accepted but not yet written", audit,
                    t -> t.accepted() - t.written());
            Channel ch = new ServerBootstrap()
                    .group(boss, workers)
                    .channel(Transports.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new AgentChannelInitializer(tls, rt))
                    .bind(config.listener().address(), config.listener().port())
                    .sync()
                    .channel();
            log.info("data plane listening on {} ({} routes, transport {})", ch.localAddress(),
                    config.routes().size(), Transports.EPOLL ? "epoll" : "nio");
            return new ProxyServer(boss, workers, resolver, ch, taskExecutor, tasks, authorizer, config.routes());
        } catch (SSLException | InterruptedException | RuntimeException e) {
            taskExecutor.shutdownNow();
            boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            resolver.close();
            throw e;
        }
    }

    private static JwtSvidValidator jwtValidator(SidecarConfig config, JwtBundles bundles) {
        JwtSvidConfig c = config.listener().jwtSvid();
        if (!c.enabled()) {
            return null;
        }
        log.info("data plane accepts JWT-SVIDs for audience {} (leeway {}) besides client certificates",
                c.audience(), c.leeway());
        return JwtSvidValidator.of(bundles, c.audience(), c.leeway(), Clock.systemUTC());
    }

    /**
     * The authorizer of a sidecar with {@code config}'s routes (and their labels) over {@code tasks}: what the data
     * plane decides with, for a component that decides without a running data plane (tests, a control server
     * alone).
     */
    public static Authorizer authorizer(SidecarConfig config, TaskRegistry tasks) {
        return authorizer(config, tasks, ApprovalAudit.NONE);
    }

    /**
     * The authorizer of a sidecar with {@code config}'s routes over {@code tasks}, its approvals
     * ({@code config.approvals()}) audited to {@code audit}.
     */
    public static Authorizer authorizer(SidecarConfig config, TaskRegistry tasks, AuditTrail audit) {
        return authorizer(config, tasks, new ApprovalLifecycleAudit(audit, tasks.clock(), config.audit().maxWait()));
    }

    private static Authorizer authorizer(SidecarConfig config, TaskRegistry tasks, ApprovalAudit approvalAudit) {
        Map<String, java.util.Set<String>> labels = new HashMap<>();
        for (RouteConfig r : config.routes()) {
            labels.put(r.name(), java.util.Set.copyOf(r.labels()));
        }
        return new Authorizer(tasks, labels, Approvals.create(config.approvals(), tasks.clock(), approvalAudit));
    }

    /**
     * The TLS context for each new connection to {@code u}: from the (possibly rotating) SVID material for an
     * upstream inside the mesh, fixed for a public one; null for plaintext.
     */
    private static Supplier<SslContext> upstreamTls(UpstreamConfig u, TlsMaterial tls) throws SSLException {
        if (!u.tls()) {
            return null;
        }
        if (u.spiffeId() != null) {
            SpiffeId expected = SpiffeId.parse(u.spiffeId());
            return () -> tls.upstreamContext(expected, u.http2());
        }
        // Outside the mesh: public CAs and host name verification (set on each handler).
        SslContext publicCas = SslContextBuilder.forClient()
                .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
                .applicationProtocolConfig(new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        u.http2() ? ApplicationProtocolNames.HTTP_2 : ApplicationProtocolNames.HTTP_1_1))
                .build();
        return () -> publicCas;
    }

    /** The bound address (the real port when the configuration asked for port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public int port() {
        return address().getPort();
    }

    /** The tasks this data plane authorizes calls with. */
    public TaskRegistry tasks() {
        return tasks;
    }

    /**
     * The authorizer this data plane decides every call with; Envoy's ext_authz check on the control API asks the
     * very same instance.
     */
    public Authorizer authorizer() {
        return authorizer;
    }

    /** The routes it serves. */
    public List<RouteConfig> routes() {
        return routes;
    }

    /** Whether the listener still accepts connections (readiness). */
    public boolean isListening() {
        return listener.isActive();
    }

    /** Stops accepting, gives exchanges in flight up to two seconds, then releases all threads. */
    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        boss.terminationFuture().syncUninterruptibly();
        taskExecutor.shutdown();
        resolver.close();
    }
}
