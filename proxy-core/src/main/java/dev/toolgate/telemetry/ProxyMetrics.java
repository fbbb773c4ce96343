package dev.toolgate.telemetry;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * The sidecar's metrics (Micrometer, scraped as Prometheus text on the admin port). Meters are registered once
 * per label set and cached, so recording a call is a map lookup and an increment. Thread-safe.
 *
 * <ul>
 *   <li>{@code toolgate_calls_total{route,decision,code}}: every decision;
 *   <li>{@code toolgate_decision_seconds}: time from request head to decision (histogram);
 *   <li>{@code toolgate_upstream_seconds{route,outcome}}: decision to end of response, allowed calls (histogram);
 *   <li>{@code toolgate_audit_queue_depth}, {@code toolgate_audit_backpressure_waits_total} (records that had to
 *       wait for room in the audit queue), {@code toolgate_audit_fail_closed_total}: the audit path;
 *   <li>{@code toolgate_tls_handshake_failures_total{reason}}: refused agent handshakes;
 *   <li>{@code toolgate_connections_refused_total{limit}}: connections closed at the connection limit
 *       ({@code limit="connections"}, at accept) or at the per-identity limit ({@code limit="identity"}, after the
 *       handshake);
 *   <li>{@code toolgate_agent_timeouts_total{timeout}}: agent connections or exchanges ended by an agent-side timer
 *       ({@code handshake}, {@code head}, {@code idle}, {@code body});
 *   <li>{@code toolgate_routes_version{version}} (always 1) and {@code toolgate_routes}: the route set in force, its
 *       version and how many routes it has (one series, replaced on every route reload);
 *   <li>{@code toolgate_routes_reload_failures_total}, {@code toolgate_policy_reload_failures_total}: reloads refused
 *       (the old set stayed in force), registered by their owners through {@link #counter}.
 * </ul>
 *
 * <p>Every counter whose labels are known in advance is there from the start at 0 (each handshake failure reason
 * of {@link #HANDSHAKE_FAILURE_REASONS}, each timer of {@link #AGENT_TIMEOUTS}), so a dashboard or an alert sees
 * the series before the first event instead of "no data".
 */
public final class ProxyMetrics {
    private final PrometheusMeterRegistry registry;
    private final Map<String, Counter> calls = new ConcurrentHashMap<>();
    private final Map<String, Timer> upstream = new ConcurrentHashMap<>();
    private final Map<String, Counter> handshakeFailures = new ConcurrentHashMap<>();
    private final Timer decisionTimer;
    private final Counter auditFailClosed;
    private final Counter auditWaits;
    private final Counter connectionsRefused;
    private final Counter identityConnectionsRefused;
    private final Map<String, Counter> agentTimeouts = new ConcurrentHashMap<>();
    // Guarded by this: the route set's info series, replaced when the routes are reloaded.
    private Gauge routesInfo;
    private volatile int routeCount;

    /** The reasons {@link #handshakeFailure} is called with (the sidecar's classification of refused handshakes). */
    public static final List<String> HANDSHAKE_FAILURE_REASONS = List.of("certificate_rejected",
            "no_client_certificate", "handshake_failed", "timeout", "id_not_allowed", "other");
    /** The agent-side timers {@link #agentTimeout} is called with. */
    public static final List<String> AGENT_TIMEOUTS = List.of("handshake", "head", "idle", "body");

    private ProxyMetrics(PrometheusMeterRegistry registry) {
        this.registry = registry;
        for (String reason : HANDSHAKE_FAILURE_REASONS) {
            handshakeFailureCounter(reason);
        }
        for (String timer : AGENT_TIMEOUTS) {
            agentTimeoutCounter(timer);
        }
        this.decisionTimer = Timer.builder("toolgate.decision")
                .description("Time from the request head to the decision")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(1_000))
                .maximumExpectedValue(Duration.ofSeconds(1))
                .register(registry);
        this.connectionsRefused = Counter.builder("toolgate.connections.refused")
                .description("Agent connections closed because a connection limit was reached")
                .tag("limit", "connections")
                .register(registry);
        this.identityConnectionsRefused = Counter.builder("toolgate.connections.refused")
                .description("Agent connections closed because a connection limit was reached")
                .tag("limit", "identity")
                .register(registry);
        this.auditWaits = Counter.builder("toolgate.audit.backpressure.waits")
                .description("Audit records that waited for room in the audit queue (the call waited with them)")
                .register(registry);
        this.auditFailClosed = Counter.builder("toolgate.audit.fail.closed")
                .description("Calls denied because their decision record was not accepted in time")
                .register(registry);
    }

    /** A new set of metrics with its own Prometheus registry. */
    public static ProxyMetrics create() {
        return new ProxyMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }

    /** Watches a value that goes up and down, e.g. the audit queue depth. */
    public <T> void gauge(String name, String description, T obj, ToDoubleFunction<T> value) {
        Gauge.builder(name, requireNonNull(obj, "obj"), value).description(description).register(registry);
    }

    /**
     * Watches a count that only goes up and that {@code obj} keeps, e.g. refused reloads: a Prometheus counter
     * ({@code _total}). Registering the same name again returns without change (the first registration stays).
     */
    public <T> void counter(String name, String description, T obj, ToDoubleFunction<T> count) {
        FunctionCounter.builder(name, requireNonNull(obj, "obj"), count).description(description).register(registry);
    }

    public void decision(String route, String decision, String code, long nanos) {
        String r = route == null ? "none" : route;
        calls.computeIfAbsent(r + '\0' + decision + '\0' + code, k -> Counter.builder("toolgate.calls")
                .description("Calls by route, decision and code")
                .tag("route", r).tag("decision", decision).tag("code", code)
                .register(registry)).increment();
        decisionTimer.record(Duration.ofNanos(nanos));
    }

    public void outcome(String route, String outcome, long nanos) {
        String r = route == null ? "none" : route;
        upstream.computeIfAbsent(r + '\0' + outcome, k -> Timer.builder("toolgate.upstream")
                .description("From the decision to the end of the response, allowed calls")
                .tag("route", r).tag("outcome", outcome)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(50_000))
                .maximumExpectedValue(Duration.ofSeconds(60))
                .register(registry)).record(Duration.ofNanos(nanos));
    }

    /** The route set now in force (at start and after every route reload). */
    public synchronized void routeSet(String version, int routes) {
        requireNonNull(version, "version");
        if (routesInfo == null) {
            Gauge.builder("toolgate.routes", this, m -> m.routeCount)
                    .description("Routes in force").register(registry);
        } else {
            registry.remove(routesInfo);
        }
        routeCount = routes;
        routesInfo = Gauge.builder("toolgate.routes.version", () -> 1)
                .description("The route set in force (its version is the label)")
                .tag("version", version)
                .register(registry);
    }

    /** A connection closed at accept: the sidecar already held {@code limits.maxConnections}. */
    public void connectionRefused() {
        connectionsRefused.increment();
    }

    /** A connection closed after its handshake: its identity already held {@code limits.maxConnectionsPerIdentity}. */
    public void identityConnectionRefused() {
        identityConnectionsRefused.increment();
    }

    /** An agent connection or exchange ended by the agent-side timer {@code timeout}. */
    public void agentTimeout(String timeout) {
        agentTimeoutCounter(timeout).increment();
    }

    private Counter agentTimeoutCounter(String timeout) {
        return agentTimeouts.computeIfAbsent(timeout, k -> Counter.builder("toolgate.agent.timeouts")
                .description("Agent connections or exchanges ended by an agent-side timeout, by timer")
                .tag("timeout", timeout)
                .register(registry));
    }

    /** A record found the audit queue full and waits (back-pressure). */
    public void auditWait() {
        auditWaits.increment();
    }

    /** How many records have waited for room in the audit queue. */
    public long auditWaits() {
        return (long) auditWaits.count();
    }

    public void auditFailClosed() {
        auditFailClosed.increment();
    }

    public void handshakeFailure(String reason) {
        handshakeFailureCounter(reason).increment();
    }

    private Counter handshakeFailureCounter(String reason) {
        return handshakeFailures.computeIfAbsent(reason, k -> Counter.builder("toolgate.tls.handshake.failures")
                .description("Agent TLS handshakes refused, by reason")
                .tag("reason", reason)
                .register(registry));
    }
}
