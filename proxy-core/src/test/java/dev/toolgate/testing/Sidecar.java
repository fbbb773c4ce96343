package dev.toolgate.testing;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.AdminConfig;
import dev.toolgate.config.ListenerConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.TimeoutsConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.proxy.SidecarBuilder;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.credential.Credentials;
import dev.toolgate.credential.SigningKeys;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskException;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.SpiffeId;
import java.net.URI;
import java.time.Clock;
import java.util.stream.Collectors;
import java.time.Duration;
import java.util.List;

/**
 * Starts the real data plane on 127.0.0.1, port 0, with dev-CA identities, through the production
 * {@link SidecarBuilder} (see also {@link SidecarExtension}, which also closes what it starts).
 */
public final class Sidecar {
    private Sidecar() {}

    /**
     * A configuration for tests of the data plane's mechanics: no policy, and explicitly the opt-out of failing closed
     * without one ({@code unrestrictedWithoutPolicy}), so grants and routes alone limit the test's agents. Tests of
     * policy add {@code withPolicies(...)}, which puts the policy in force instead.
     */
    public static SidecarConfig config(List<RouteConfig> routes) {
        return new SidecarConfig(new ListenerConfig("127.0.0.1", 0), null, null,
                new TimeoutsConfig(Duration.ofSeconds(2), Duration.ofSeconds(5), null), null,
                new AdminConfig("127.0.0.1", 0), routes).withUnrestrictedWithoutPolicy(true);
    }

    /**
     * The production builder set up for a test: the sidecar's SVID from {@code pki}, two event loop threads. Add
     * what the test needs ({@code audit}, {@code tasks}, {@code metrics}, {@code spans}, {@code jwtBundles},
     * {@code clock}...) and {@code build()}; without an audit trail of its own it opens {@code config.audit()}.
     */
    public static SidecarBuilder builder(TestPki pki, SidecarConfig config) {
        return ProxyServer.builder(config).tls(pki.sidecarTls()).workerThreads(2);
    }

    /** Starts with an in-memory audit trail nobody reads. */
    public static ProxyServer start(TestPki pki, SidecarConfig config) throws Exception {
        return builder(pki, config).audit(AuditTrail.start(new MemoryAuditSink(), null, 100_000)).build();
    }

    /** The credentials of the config's routes, signed with fresh keys. */
    public static Credentials credentials(SidecarConfig config) {
        return Credentials.create(config.routes(), SigningKeys.generate(), Clock.systemUTC());
    }

    /** A registry in memory over the config's routes, auditing lifecycle events to {@code audit}. */
    public static TaskRegistry tasks(SidecarConfig config, AuditTrail audit, Clock clock) {
        Ticker ticker = clock instanceof ManualClock m ? m : Ticker.systemTicker();
        return TaskRegistry.open(config.tasks(), config.access(), new MemoryTaskStore(),
                config.routes().stream().map(RouteConfig::name).collect(Collectors.toSet()), clock, ticker,
                new TaskLifecycleAudit(audit, clock, Duration.ofSeconds(2)));
    }

    /**
     * Starts a task for {@code agent} that may do anything on every route (for tests of the data plane's mechanics,
     * which need a task like any call); returns its token.
     */
    public static String taskForEverything(ProxyServer server, SpiffeId agent) throws TaskException {
        List<GrantRequest> grants = server.routes().stream()
                .map(r -> new GrantRequest(r.name(), everything(r), null, null, null))
                .toList();
        return server.tasks().start(agent, new StartRequest(null, "test: " + agent.path(), null, grants)).token();
    }

    /** Operations covering everything a route of this protocol can carry (kinds never cross). */
    public static List<String> everything(RouteConfig route) {
        return switch (route.protocol()) {
            case GRPC -> List.of("grpc:" + route.grpc() + "/*");
            case MCP -> List.of("mcp:tools/call:*", "mcp:tools/list", "mcp:resources/read:**",
                    "mcp:resources/list", "mcp:prompts/get:*", "mcp:prompts/list", "mcp:notifications/*",
                    "mcp:initialize", "mcp:ping", "mcp:stream", "mcp:session/close", "mcp:response");
            case HTTP -> List.of("* /**");
        };
    }

    public static RouteConfig route(String name, String prefix, String url) {
        return new RouteConfig(name, prefix, null, null, new UpstreamConfig(URI.create(url), null, null), null, null);
    }

    public static RouteConfig route(String name, String prefix, String url, TimeoutsConfig timeouts) {
        return new RouteConfig(name, prefix, null, null, new UpstreamConfig(URI.create(url), null, null), null,
                timeouts);
    }
}
