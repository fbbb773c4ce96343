package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.admission.Admission;
import dev.toolgate.approval.Approvals;
import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.authz.Authorizer;
import dev.toolgate.authz.CallDecider;
import dev.toolgate.call.RouteTable;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.credential.Credentials;
import dev.toolgate.grant.TaskRegistry;
import java.util.HashMap;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.mcp.McpSessions;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One route set as the data plane uses it: the routes and their version, the table that matches paths to them,
 * the authorizer that knows their labels (flow rules), the credentials injected on them and each route's upstream
 * (connection settings and pools). The sidecar holds exactly one in force and replaces it whole when the route
 * files change ({@link RouteReloader}); an exchange reads it once when it starts and keeps it to its end, so a call
 * never sees half of one set and half of the next.
 *
 * <p>Immutable and thread-safe (the upstreams' pools are confined per event loop).
 */
public final class RouteSnapshot {
    private final String version;
    private final List<RouteConfig> routes;
    private final RouteTable table;
    private final Authorizer authorizer;
    private final CallDecider decider;
    private final Credentials credentials;
    private final Map<String, Upstream> upstreams;
    private final Set<String> names;
    private final Set<String> credentialRoutes;
    private final Map<String, ArgumentCapture> captures;
    private final McpParser mcpParser;
    private final McpSessions mcpSessions;
    private final Clock clock;
    private final Admission admission;

    /**
     * @param approvals the sidecar's one approvals registry: every route set's authorizer asks the same, so a
     *                  reload loses no pending or granted approval
     * @param mcpParser   how MCP bodies are read (the sidecar's one parser and its limits)
     * @param mcpSessions the sidecar's MCP session bindings, shared by every route set
     * @param clock       the sidecar's clock
     */
    RouteSnapshot(String version, List<RouteConfig> routes, TaskRegistry tasks, Approvals approvals,
                  Credentials credentials, Map<String, Upstream> upstreams, McpParser mcpParser,
                  McpSessions mcpSessions, Clock clock) {
        this.version = requireNonNull(version, "version");
        this.routes = List.copyOf(routes);
        this.table = RouteTable.of(this.routes);
        Map<String, Set<String>> labels = new HashMap<>();
        for (RouteConfig r : this.routes) {
            labels.put(r.name(), Set.copyOf(r.labels()));
        }
        Map<String, ArgumentCapture> capture = new HashMap<>();
        for (RouteConfig r : this.routes) {
            capture.put(r.name(), ArgumentCapture.of(r.audit()));
        }
        this.captures = Map.copyOf(capture);
        this.authorizer = new Authorizer(tasks, labels, approvals, captures);
        this.decider = new CallDecider(authorizer);
        this.credentials = credentials;
        this.upstreams = Map.copyOf(upstreams);
        this.names = this.routes.stream().map(RouteConfig::name).collect(Collectors.toUnmodifiableSet());
        this.credentialRoutes = this.routes.stream().filter(r -> r.credential() != null).map(RouteConfig::name)
                .collect(Collectors.toUnmodifiableSet());
        this.mcpParser = requireNonNull(mcpParser, "mcpParser");
        this.mcpSessions = requireNonNull(mcpSessions, "mcpSessions");
        this.clock = requireNonNull(clock, "clock");
        this.admission = new Admission(table, decider, this::capture, mcpParser, mcpSessions, clock);
    }

    /** The next route set: the same sidecar-wide parser, session bindings and clock as this one. */
    RouteSnapshot next(String nextVersion, List<RouteConfig> nextRoutes, TaskRegistry tasks, Approvals approvals,
                       Credentials nextCredentials, Map<String, Upstream> nextUpstreams) {
        return new RouteSnapshot(nextVersion, nextRoutes, tasks, approvals, nextCredentials, nextUpstreams, mcpParser,
                mcpSessions, clock);
    }

    /** How every request on this route set is judged. */
    public Admission admission() {
        return admission;
    }

    /**
     * A route set for deciding only, without a data plane behind it (no upstreams, no credentials): what a control
     * API started on its own answers Envoy's ext_authz checks with.
     */
    public static RouteSnapshot forDecisions(String version, List<RouteConfig> routes, TaskRegistry tasks,
                                             Approvals approvals) {
        return new RouteSnapshot(version, requireNonNull(routes, "routes"), requireNonNull(tasks, "tasks"),
                requireNonNull(approvals, "approvals"), null, Map.of(), new McpParser(), new McpSessions(),
                Clock.systemUTC());
    }

    /** The set's version ({@link dev.toolgate.config.LoadedRoutes#versionOf}). */
    public String version() {
        return version;
    }

    public List<RouteConfig> routes() {
        return routes;
    }

    /** The route names. */
    public Set<String> names() {
        return names;
    }

    public RouteTable table() {
        return table;
    }

    /** The authorizer over these routes' labels. */
    public Authorizer authorizer() {
        return authorizer;
    }

    /** Decides calls with {@link #authorizer}, failing closed. */
    public CallDecider decider() {
        return decider;
    }

    /** Whether the sidecar injects a credential on {@code route} (its agent-sent {@code Authorization} is dropped). */
    public boolean injectsCredential(String route) {
        return credentialRoutes.contains(route);
    }

    /** The credentials injected on these routes; null in a set {@link #forDecisions}. */
    Credentials credentials() {
        return credentials;
    }

    Map<String, Upstream> upstreams() {
        return upstreams;
    }

    /** What the audit records of {@code route}'s call arguments ({@link ArgumentCapture#NONE}: the digest only). */
    public ArgumentCapture capture(String route) {
        return captures.getOrDefault(route, ArgumentCapture.NONE);
    }
}
