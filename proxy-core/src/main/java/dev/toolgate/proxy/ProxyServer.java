package dev.toolgate.proxy;

import dev.toolgate.mcp.McpToolDigests;
import dev.toolgate.mcp.McpSessions;
import static java.util.Objects.requireNonNull;

import dev.toolgate.approval.Approvals;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.authz.Authorizer;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.config.ConfigException;
import dev.toolgate.config.LoadedRoutes;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.TimeoutsConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.credential.Credentials;
import dev.toolgate.policy.PolicyWatcher;
import dev.toolgate.config.JwtSvidConfig;
import dev.toolgate.identity.JwtBundles;
import dev.toolgate.identity.JwtSvidValidator;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.TlsMaterial;
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
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
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
 * <p>The routes in force are one {@link RouteSnapshot}, replaced whole by a route reload ({@link RouteReloader});
 * listener, identity, limits and the default timeouts are fixed for the server's life.
 *
 * <p>Start with {@link #builder}; {@link #close} stops accepting, lets exchanges in flight finish for a short grace
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
    private final TlsMaterial tls;
    private final TimeoutsConfig timeouts;
    private final ProxyMetrics metrics;
    private final AtomicReference<RouteSnapshot> routes;
    private final Approvals approvals;

    private final DataPlaneParts parts;
    private final RefusalAudit refusals;
    private volatile Attached attached;

    /**
     * What the builder starts around the listener and what the server closes after itself: the admin listener,
     * the route reloader (null without route files), readiness, the policy watcher (null without policies) and the
     * parts the builder opened, in the order they are closed after the listener.
     */
    record Attached(AdminServer admin, RouteReloader reloader, Readiness readiness, PolicyWatcher policies,
                    List<AutoCloseable> closeLast) {
        Attached {
            closeLast = List.copyOf(closeLast);
        }
    }

    private ProxyServer(EventLoopGroup boss, EventLoopGroup workers, DnsAddressResolverGroup resolver,
                        Channel listener, ExecutorService taskExecutor, DataPlaneParts parts,
                        AtomicReference<RouteSnapshot> routes, RefusalAudit refusals) {
        this.parts = parts;
        this.refusals = refusals;
        this.taskExecutor = taskExecutor;
        this.tasks = parts.tasks();
        this.tls = parts.tls();
        this.timeouts = parts.config().timeouts();
        this.metrics = parts.metrics();
        this.approvals = parts.approvals();
        this.routes = routes;
        this.boss = boss;
        this.workers = workers;
        this.resolver = resolver;
        this.listener = listener;
    }

    /**
     * The way to start a sidecar's data plane: a builder over {@code config} that opens (or is given) the identity,
     * audit trail, policy, tasks and the rest, then starts the listener, the route reloader and the admin listener.
     */
    public static SidecarBuilder builder(SidecarConfig config) {
        return new SidecarBuilder(config);
    }

    /**
     * Binds the listener of {@code parts.config()} and starts serving.
     *
     * @throws SSLException if an upstream's TLS context cannot be built
     * @throws InterruptedException if interrupted while binding
     * @throws StartupException if the address cannot be bound (the message names the listener and the address)
     */
    static ProxyServer start(DataPlaneParts parts) throws SSLException, StartupException, InterruptedException {
        SidecarConfig config = parts.config();
        TlsMaterial tls = parts.tls();
        TaskRegistry tasks = parts.tasks();
        AuditTrail audit = parts.audit();
        ProxyMetrics metrics = parts.metrics();
        EventLoopGroup boss = Transports.newGroup(1);
        EventLoopGroup workers = Transports.newGroup(parts.workerThreads());
        ExecutorService taskExecutor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "toolgate-tasks");
            t.setDaemon(true);
            return t;
        });
        DnsAddressResolverGroup resolver = new DnsAddressResolverGroup(
                new DnsNameResolverBuilder().datagramChannelType(Transports.datagramChannel()));
        try {
            Map<String, Upstream> upstreams = new HashMap<>();
            for (RouteConfig r : config.routes()) {
                upstreams.put(r.name(), newUpstream(r, config.timeouts(), tls, resolver));
            }
            RouteSnapshot first = new RouteSnapshot(LoadedRoutes.versionOf(config.routes()), config.routes(), tasks,
                    parts.approvals(), parts.credentials(), upstreams, new McpParser(), new McpSessions(),
                    parts.clock());
            AtomicReference<RouteSnapshot> routes = new AtomicReference<>(first);
            ProxyRuntime rt = new ProxyRuntime(first, routes::get, config.limits(), metrics,
                    new AgentAccess(config.access().agentPatterns(),
                            jwtValidator(config, parts.jwtBundles(), parts.clock())),
                    new ExchangeAudit.Context(audit, metrics, parts.clock(), config.audit().maxWait().toNanos()),
                    parts.spans(), new TaskApi(tasks, taskExecutor), new McpToolDigests());
            // Whatever credentials are in force later, JWTs of an ended task are dropped (they share one cache).
            tasks.onEnded(t -> routes.get().credentials().taskEnded(t.id()));
            metrics.gauge("toolgate.audit.queue.depth", "Audit records accepted but not yet written", audit,
                    t -> t.accepted() - t.written());
            metrics.gauge("toolgate.audit.available", "1 while the audit trail takes records; 0 while its sink fails or"
                    + " stalls (calls are refused 503 audit_unavailable)", audit, t -> t.available() ? 1 : 0);
            metrics.routeSet(first.version(), first.routes().size());
            RefusalAudit refusals = new RefusalAudit(audit, parts.clock());
            Channel ch = Listeners.bind(new ServerBootstrap()
                    .group(boss, workers)
                    .channel(Transports.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new AgentChannelInitializer(tls, rt, refusals)),
                    "listener", config.listener().address(), config.listener().port());
            log.info("data plane listening on {} ({} routes, version {}, transport {})", ch.localAddress(),
                    config.routes().size(), first.version(), Transports.EPOLL ? "epoll" : "nio");
            return new ProxyServer(boss, workers, resolver, ch, taskExecutor, parts, routes, refusals);
        } catch (SSLException | StartupException | InterruptedException | RuntimeException e) {
            taskExecutor.shutdownNow();
            boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            resolver.close();
            throw e;
        }
    }

    /** Called once by the builder before it hands the server out. */
    void attach(Attached parts) {
        this.attached = requireNonNull(parts, "parts");
    }

    private static JwtSvidValidator jwtValidator(SidecarConfig config, JwtBundles bundles, Clock clock) {
        JwtSvidConfig c = config.listener().jwtSvid();
        if (!c.enabled()) {
            return null;
        }
        log.info("data plane accepts JWT-SVIDs for audience {} (leeway {}) besides client certificates",
                c.audience(), c.leeway());
        return JwtSvidValidator.of(bundles, c.audience(), c.leeway(), clock);
    }

    private static Upstream newUpstream(RouteConfig r, TimeoutsConfig defaults, TlsMaterial tls,
                                        DnsAddressResolverGroup resolver) throws SSLException {
        return new Upstream(r, r.timeouts().orElse(defaults), upstreamTls(r.upstream(), tls),
                r.upstream().tls() && r.upstream().spiffeId() == null, resolver);
    }

    /**
     * Builds everything {@code next} needs without putting it in force: static secrets are read, upstream TLS
     * contexts built; an upstream whose settings did not change is carried over with its pooled connections.
     * Called by one reloader at a time.
     *
     * @throws ConfigException naming the route's file and line if a credential or an upstream cannot be set up
     */
    RouteSnapshot prepare(LoadedRoutes next) throws ConfigException {
        RouteSnapshot current = routes.get();
        Map<Upstream.Key, Upstream> reusable = new HashMap<>();
        for (Upstream u : current.upstreams().values()) {
            reusable.putIfAbsent(u.key(), u);
        }
        Credentials credentials;
        try {
            credentials = current.credentials().withRoutes(next.routes());
        } catch (IllegalArgumentException e) {
            String route = next.routes().stream().map(RouteConfig::name)
                    .filter(n -> e.getMessage() != null && e.getMessage().startsWith("route " + n + ":"))
                    .findFirst().orElse(null);
            throw new ConfigException((route == null ? "routes" : next.origin(route)) + ": " + e.getMessage(), e);
        }
        Map<String, Upstream> upstreams = new HashMap<>();
        for (RouteConfig r : next.routes()) {
            Upstream same = reusable.get(new Upstream.Key(r.upstream(), r.timeouts().orElse(timeouts)));
            try {
                upstreams.put(r.name(), same != null ? same : newUpstream(r, timeouts, tls, resolver));
            } catch (SSLException | IllegalArgumentException e) {
                throw new ConfigException(next.origin(r.name()) + ": route " + r.name() + ": upstream TLS: "
                        + e.getMessage(), e);
            }
        }
        return current.next(next.version(), next.routes(), tasks, approvals, credentials, upstreams);
    }

    /**
     * Puts a {@link #prepare prepared} route set in force: every request that starts from now on uses it, those in
     * flight finish on the set they started with; upstreams the new set no longer uses are retired (their pooled
     * connections close as they fall idle). Task grants may name the new routes from now on.
     *
     * @return the set that was in force
     */
    RouteSnapshot install(RouteSnapshot next) {
        tasks.updateRoutes(next.names());
        RouteSnapshot previous = routes.getAndSet(next);
        Set<Upstream> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        kept.addAll(next.upstreams().values());
        Set<Upstream> retired = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Upstream u : previous.upstreams().values()) {
            if (!kept.contains(u) && retired.add(u)) {
                u.retire(workers);
            }
        }
        metrics.routeSet(next.version(), next.routes().size());
        return previous;
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

    /** The route set in force now (read it once per request: the next read may return a reloaded one). */
    public RouteSnapshot routeSet() {
        return routes.get();
    }

    /**
     * The authorizer the data plane decides calls with under the routes in force now; Envoy's ext_authz check on
     * the control API asks the same one through {@link #routeSet()}.
     */
    public Authorizer authorizer() {
        return routes.get().authorizer();
    }

    /** The routes it serves now. */
    public List<RouteConfig> routes() {
        return routes.get().routes();
    }

    /** Whether the listener still accepts connections (readiness). */
    public boolean isListening() {
        return listener.isActive();
    }

    /** The configuration the server was started with (its listener, limits and timeouts stay in force). */
    public SidecarConfig config() {
        return parts.config();
    }

    /** The sidecar's TLS material (also presented by the control API). */
    public TlsMaterial tls() {
        return tls;
    }

    /** The audit trail every decision and outcome is written to. */
    public AuditTrail audit() {
        return parts.audit();
    }

    /** The sidecar's one approvals registry, shared by the authorizer of every route set. */
    public Approvals approvals() {
        return approvals;
    }

    /** Whether the sidecar can do its job now ({@code /readyz}, gRPC health). */
    public Readiness readiness() {
        return attached.readiness();
    }

    /** The admin listener (health, readiness, metrics, JWKS). */
    public AdminServer admin() {
        return attached.admin();
    }

    /** The reloader following the route files; null when the configuration lists its routes inline. */
    public RouteReloader routeReloader() {
        return attached.reloader();
    }

    /** The policy watcher; null when the configuration names no policy. */
    public PolicyWatcher policies() {
        return attached.policies();
    }

    /**
     * Closes the admin listener and the route reloader, stops accepting, gives exchanges in flight up to two
     * seconds, releases all threads, then closes what the builder opened for it (policy watcher, task registry,
     * audit trail, identity, in that order); parts it was given stay open.
     */
    @Override
    public void close() {
        Attached a = attached;
        if (a != null) {
            a.admin().close();
            if (a.reloader() != null) {
                a.reloader().close();
            }
        }
        listener.close().syncUninterruptibly();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        boss.terminationFuture().syncUninterruptibly();
        taskExecutor.shutdown();
        resolver.close();
        refusals.close(); // what its open windows hold, before the audit trail closes
        if (a != null) {
            for (AutoCloseable c : a.closeLast()) {
                try {
                    c.close();
                } catch (Exception e) {
                    log.warn("closing {} failed", c.getClass().getSimpleName(), e);
                }
            }
        }
    }
}
