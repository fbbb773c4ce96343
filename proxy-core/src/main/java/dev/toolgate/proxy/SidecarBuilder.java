package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.approval.Approvals;
import dev.toolgate.audit.ApprovalLifecycleAudit;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.config.ConfigException;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.credential.Credentials;
import dev.toolgate.credential.SigningKeys;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.grant.TaskStore;
import dev.toolgate.grant.TaskStores;
import dev.toolgate.identity.JwtBundles;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.policy.PolicyException;
import dev.toolgate.policy.PolicySet;
import dev.toolgate.policy.PolicyWatcher;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.ProxyMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way to assemble the data-plane part of a sidecar from its {@link SidecarConfig}: identity, audit trail,
 * policy watcher, task registry, approvals, credentials, the agent listener ({@link ProxyServer}), the route
 * reloader (when the configuration names route files) and the admin listener. Get one with
 * {@link ProxyServer#builder}; every setting is optional and may be made once (a second call throws
 * {@link IllegalStateException}); {@link #build} starts everything and hands back the running server, which owns
 * and closes what the builder opened (never what it was given).
 *
 * <p>Defaults: identity loaded from {@code config.identity()} ({@link Identities}), audit trail opened from
 * {@code config.audit()}, the policy of {@code config.policies()} watched, the task registry over the configured
 * store, fresh signing keys, the system clock, metrics of its own, no tracing, one event loop per core, files checked
 * every two seconds.
 *
 * <p>Not thread-safe: configure and build on one thread. A builder builds once.
 */
public final class SidecarBuilder {
    private static final Logger log = LoggerFactory.getLogger(SidecarBuilder.class);
    /** What a reload counter watches when there are no files to reload: it stays at 0. */
    private static final Object NOTHING_WATCHED = new Object();
    /** How often policy and route files are checked for changes unless {@link #reloadInterval} says otherwise. */
    public static final Duration RELOAD_INTERVAL = Duration.ofSeconds(2);

    private final SidecarConfig config;
    private TlsMaterial tls;
    private JwtBundles jwtBundles;
    private AuditTrail audit;
    private TaskRegistry tasks;
    private TaskStores taskStores;
    private Clock clock;
    private Ticker ticker;
    private ProxyMetrics metrics;
    private CallSpans spans;
    private SigningKeys signingKeys;
    private Duration reloadInterval;
    private int workerThreads = -1;
    private boolean built;

    SidecarBuilder(SidecarConfig config) {
        this.config = requireNonNull(config, "config");
    }

    /** The sidecar's TLS material (owned by the caller); without it the identity of the configuration is loaded. */
    public SidecarBuilder tls(TlsMaterial tls) {
        once(this.tls, "tls");
        this.tls = requireNonNull(tls, "tls");
        return this;
    }

    /** The bundles JWT-SVIDs are verified against when the listener enables them (default: the identity's). */
    public SidecarBuilder jwtBundles(JwtBundles jwtBundles) {
        once(this.jwtBundles, "jwtBundles");
        this.jwtBundles = requireNonNull(jwtBundles, "jwtBundles");
        return this;
    }

    /** The audit trail every decision and outcome is written to (owned by the caller). */
    public SidecarBuilder audit(AuditTrail audit) {
        once(this.audit, "audit");
        this.audit = requireNonNull(audit, "audit");
        return this;
    }

    /** The task registry whose grants authorize calls (owned by the caller; its clock also times approvals). */
    public SidecarBuilder tasks(TaskRegistry tasks) {
        once(this.tasks, "tasks");
        this.tasks = requireNonNull(tasks, "tasks");
        return this;
    }

    /**
     * What opens the task store {@code tasks.store} names when no {@link #tasks} registry is given (default:
     * {@link TaskStores#local}, the journal and memory stores; the runnable sidecar adds etcd). The store opened is
     * owned by the server.
     */
    public SidecarBuilder taskStores(TaskStores stores) {
        once(this.taskStores, "taskStores");
        this.taskStores = requireNonNull(stores, "stores");
        return this;
    }

    /** The clock of tasks, credentials, JWT-SVID checks and readiness (a {@link Ticker} clock is also the ticker). */
    public SidecarBuilder clock(Clock clock) {
        once(this.clock, "clock");
        this.clock = requireNonNull(clock, "clock");
        return this;
    }

    /** The ticker of the task registry's caches (default: the clock if it is one, else the system's). */
    public SidecarBuilder ticker(Ticker ticker) {
        once(this.ticker, "ticker");
        this.ticker = requireNonNull(ticker, "ticker");
        return this;
    }

    /** Where calls, decisions and failures are counted. */
    public SidecarBuilder metrics(ProxyMetrics metrics) {
        once(this.metrics, "metrics");
        this.metrics = requireNonNull(metrics, "metrics");
        return this;
    }

    /** The span of each call (default {@link CallSpans#noop()}). */
    public SidecarBuilder spans(CallSpans spans) {
        once(this.spans, "spans");
        this.spans = requireNonNull(spans, "spans");
        return this;
    }

    /** The keys task JWTs are signed with (published on the admin listener's JWKS). */
    public SidecarBuilder signingKeys(SigningKeys keys) {
        once(this.signingKeys, "signingKeys");
        this.signingKeys = requireNonNull(keys, "keys");
        return this;
    }

    /** How often policy and route files are checked for changes. */
    public SidecarBuilder reloadInterval(Duration interval) {
        once(this.reloadInterval, "reloadInterval");
        requireNonNull(interval, "interval");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("reloadInterval: " + interval + " (expected: > 0)");
        }
        this.reloadInterval = interval;
        return this;
    }

    /** Event loop threads of the listener; {@code 0} for one per core. */
    public SidecarBuilder workerThreads(int threads) {
        if (workerThreads >= 0) {
            throw new IllegalStateException("workerThreads was already set to " + workerThreads);
        }
        if (threads < 0) {
            throw new IllegalArgumentException("workerThreads: " + threads + " (expected: >= 0)");
        }
        this.workerThreads = threads;
        return this;
    }

    /**
     * Opens and starts everything and returns the running server. On any failure whatever was started is closed
     * again before the exception is thrown.
     *
     * @throws StartupException         if the identity, audit trail, policy, task store, route files or an
     *                                  upstream's TLS cannot be set up, or the listener or admin port cannot be
     *                                  bound (the message says which and why)
     * @throws IllegalArgumentException if a route's credential settings are unusable
     * @throws InterruptedException     if interrupted while binding
     * @throws IllegalStateException    if this builder already built
     */
    public ProxyServer build() throws StartupException, InterruptedException {
        if (built) {
            throw new IllegalStateException("this builder already built a sidecar");
        }
        built = true;
        Clock clk = clock != null ? clock : Clock.systemUTC();
        Ticker tick = ticker != null ? ticker : clk instanceof Ticker t ? t : Ticker.systemTicker();
        Duration interval = reloadInterval != null ? reloadInterval : RELOAD_INTERVAL;
        SigningKeys keys = signingKeys != null ? signingKeys : SigningKeys.generate();
        Credentials credentials = Credentials.create(config.routes(), keys, clk);
        // Opened parts, closed in reverse on failure; on success the server closes those it owns after itself.
        Deque<AutoCloseable> opened = new ArrayDeque<>();
        List<AutoCloseable> closeLast = new ArrayList<>();
        try {
            TlsMaterial sidecarTls = tls;
            JwtBundles bundles = jwtBundles;
            if (sidecarTls == null) {
                Identities.Loaded identity = loadIdentity();
                opened.push(identity);
                closeLast.add(0, identity);
                sidecarTls = identity.tls();
                bundles = bundles != null ? bundles : identity.jwtBundles();
            }
            bundles = bundles != null ? bundles : JwtBundles.none();
            AuditTrail trail = audit;
            if (trail == null) {
                trail = openAudit();
                opened.push(trail);
                closeLast.add(0, trail);
            }
            PolicyWatcher policies = watchPolicies(interval);
            if (policies != null) {
                opened.push(policies);
            }
            TaskRegistry registry = tasks;
            if (registry == null) {
                registry = openTasks(trail, clk, tick, policies != null ? policies::current : withoutPolicy());
                opened.push(registry);
                closeLast.add(0, registry);
            }
            if (policies != null) {
                closeLast.add(0, policies);
            }
            ProxyMetrics m = metrics != null ? metrics : ProxyMetrics.create();
            m.gauge("toolgate.tasks.store.stale", "1 while the view of a shared task store is older than"
                    + " fleet.maxStaleness or incomplete (every call is then denied ERROR_FAIL_CLOSED), else 0",
                    registry, r -> r.staleness() == null ? 0 : 1);
            // Counters from the start, even where nothing is watched (no policy, routes given directly): at 0.
            m.counter("toolgate.policy.reload.failures", "Policy reloads refused (the old policy stayed in force)",
                    policies != null ? policies : NOTHING_WATCHED,
                    p -> p instanceof PolicyWatcher w ? w.failures() : 0);
            Approvals approvals = Approvals.create(config.approvals(), registry.clock(),
                    new ApprovalLifecycleAudit(trail, registry.clock(), config.audit().maxWait()));
            ProxyServer server = startServer(new DataPlaneParts(config, sidecarTls, bundles, trail, registry,
                    approvals, credentials, m, spans != null ? spans : CallSpans.noop(), clk,
                    Math.max(workerThreads, 0)));
            opened.push(server);
            RouteReloader reloader = null;
            if (config.routeSources().isEmpty()) {
                m.counter(RouteReloader.RELOAD_FAILURES, RouteReloader.RELOAD_FAILURES_HELP, NOTHING_WATCHED, n -> 0);
            } else {
                try {
                    reloader = RouteReloader.start(server, config.routeSources(), policies, m, interval);
                } catch (ConfigException e) {
                    throw new StartupException("cannot watch the route files: " + e.getMessage(), e);
                }
                opened.push(reloader);
            }
            Readiness readiness = new Readiness(server, trail, sidecarTls, registry, policies, clk);
            AdminServer admin = AdminServer.start(config.admin().address(), config.admin().port(), m, readiness,
                    keys::jwksJson);
            server.attach(new ProxyServer.Attached(admin, reloader, readiness, policies, closeLast));
            return server;
        } catch (StartupException | InterruptedException | RuntimeException e) {
            closeAll(opened);
            throw e;
        }
    }

    private Identities.Loaded loadIdentity() throws StartupException {
        try {
            return Identities.load(config.identity());
        } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
            throw new StartupException("cannot load the sidecar's identity (" + config.identity().source() + "): "
                    + e.getMessage(), e);
        }
    }

    private AuditTrail openAudit() throws StartupException {
        // The chain continues from the last whole record of the existing file; a torn last line left by a crash is moved
        // aside to a side file named in the first record (a bad line before it stops the start-up).
        try {
            return AuditTrail.open(config.audit());
        } catch (IOException e) {
            throw new StartupException("cannot open the audit trail: " + e.getMessage(), e);
        }
    }

    /** The policy the configuration names, loaded now and watched; null when it names none. */
    private PolicyWatcher watchPolicies(Duration interval) throws StartupException {
        if (config.policies().isEmpty()) {
            return null;
        }
        try {
            return PolicyWatcher.start(config.policies(), config.routes(), interval);
        } catch (PolicyException e) {
            throw new StartupException("the policy does not load: " + e.getMessage(), e);
        }
    }

    /**
     * What decides when the configuration names no policy: nothing may be granted (fail closed; the refusal names
     * the missing policy), unless the configuration opted out for a local experiment. Both are logged at start.
     */
    private Supplier<PolicySet> withoutPolicy() {
        if (config.unrestrictedWithoutPolicy()) {
            log.warn("UNRESTRICTED: no policy is loaded and unrestrictedWithoutPolicy is true: any agent may grant"
                    + " itself any operation on any route. For local experiments only; name policy files"
                    + " (policies:) before anything real goes through this sidecar");
            return PolicySet::unrestricted;
        }
        log.warn("no policy is loaded (the configuration names no policies): every task start is refused until"
                + " one is named");
        PolicySet none = PolicySet.none(NO_POLICY);
        return () -> none;
    }

    /** The reason of every refusal of a sidecar without policy. */
    static final String NO_POLICY = "no policy is loaded: the sidecar's configuration names no policy documents"
            + " (policies:), so nothing may be granted (fail closed); name a policy file or directory (see"
            + " config/policies/example.yaml), or set unrestrictedWithoutPolicy: true for a local experiment";

    /** A store that cannot be opened, or a journal that is corrupt, stops the start: no partial view of revocations. */
    private TaskRegistry openTasks(AuditTrail trail, Clock clk, Ticker tick, Supplier<PolicySet> policy)
            throws StartupException {
        TaskStore store;
        try {
            store = (taskStores != null ? taskStores : TaskStores.local()).open(config);
        } catch (IOException | IllegalArgumentException e) {
            throw new StartupException("cannot open the task store (" + config.tasks().store() + "): "
                    + e.getMessage(), e);
        }
        try {
            return TaskRegistry.open(config.tasks(), config.access(), store,
                    config.routes().stream().map(RouteConfig::name).collect(Collectors.toSet()), clk, tick,
                    new TaskLifecycleAudit(trail, clk, config.audit().maxWait()), policy);
        } catch (UncheckedIOException e) {
            // The store's state did not load: close it and fail the start, never run with a partial view.
            try {
                store.close();
            } catch (IOException suppressed) {
                e.getCause().addSuppressed(suppressed);
            }
            throw new StartupException("cannot load the task store: " + e.getCause().getMessage(), e.getCause());
        }
    }

    private static ProxyServer startServer(DataPlaneParts parts) throws StartupException, InterruptedException {
        try {
            return ProxyServer.start(parts);
        } catch (SSLException e) {
            throw new StartupException("upstream TLS: " + e.getMessage(), e);
        }
    }

    private static void closeAll(Deque<AutoCloseable> opened) {
        while (!opened.isEmpty()) {
            AutoCloseable c = opened.pop();
            try {
                c.close();
            } catch (Exception e) {
                log.warn("closing {} after a failed start failed", c.getClass().getSimpleName(), e);
            }
        }
    }

    private static void once(Object current, String setting) {
        if (current != null) {
            throw new IllegalStateException(setting + " was already set to " + current);
        }
    }
}
