package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The whole sidecar configuration, validated. Immutable and thread-safe.
 *
 * @param listener   agent-facing data plane listener
 * @param identity   the sidecar's own identity and trust bundle
 * @param limits     request size limits
 * @param timeouts   default upstream timeouts
 * @param audit      the audit trail
 * @param admin      the admin listener (health, readiness, metrics)
 * @param routes     all routes, from the files and directories the config file names
 * @param tasks      tasks and grants: where they are kept, lifetimes, who may start tasks for others
 * @param policies   policy document files and directories ({@code dev.toolgate.policy.PolicyLoader}); empty when
 *                   none are configured (then no policy applies: grants and routes alone limit an agent)
 * @param control    the control API listener (gRPC) and who may tail the audit trail
 * @param approvals  how long approval requests wait and how far an approval reaches
 * @param access     who may do what: call through the listener, call the control API, start tasks for others, see
 *                   and end any task, decide approvals, tail the audit trail, call ext_authz
 * @param routeSources the route files and directories {@code routes} was read from (absolute; watched for hot
 *                   reload); empty when the routes were given directly (tests, the demo)
 * @param etcd       the etcd cluster a fleet shares task state in; set exactly when {@code tasks.store} is
 *                   {@code etcd}
 * @param fleet      how old the view of a shared task store may grow before calls fail closed
 * @param unrestrictedWithoutPolicy the opt-out of failing closed, for local experiments only: with no policy
 *                   files named, {@code false} (the default) refuses every grant, so no task starts and no call
 *                   passes (the refusal names the missing policy); {@code true} lets grants and routes alone limit an
 *                   agent, which may then grant itself anything on any route (logged as a warning at start).
 *                   Ignored when {@code policies} names files (a file that names both is refused at load)
 */
public record SidecarConfig(
        ListenerConfig listener, IdentityConfig identity, LimitsConfig limits, TimeoutsConfig timeouts,
        AuditConfig audit, AdminConfig admin, List<RouteConfig> routes, TasksConfig tasks, List<Path> policies,
        ControlConfig control, ApprovalsConfig approvals, AccessConfig access, List<Path> routeSources,
        EtcdConfig etcd, FleetConfig fleet, boolean unrestrictedWithoutPolicy) {

    public SidecarConfig {
        listener = requireNonNullElse(listener, ListenerConfig.defaults());
        identity = requireNonNullElse(identity, IdentityConfig.defaults());
        limits = requireNonNullElse(limits, LimitsConfig.defaults());
        timeouts = timeouts == null ? TimeoutsConfig.defaults() : timeouts.orElse(TimeoutsConfig.defaults());
        audit = requireNonNullElse(audit, AuditConfig.defaults());
        admin = requireNonNullElse(admin, AdminConfig.defaults());
        routes = routes == null ? List.of() : List.copyOf(routes);
        tasks = requireNonNullElse(tasks, TasksConfig.defaults());
        policies = policies == null ? List.of() : List.copyOf(policies);
        control = requireNonNullElse(control, ControlConfig.defaults());
        approvals = requireNonNullElse(approvals, ApprovalsConfig.defaults());
        access = requireNonNullElse(access, AccessConfig.defaults());
        if (listener.jwtSvid().enabled() && identity.source().equals("files") && identity.jwtBundles().isEmpty()) {
            throw new IllegalArgumentException("listener: jwtSvid: enabled, but identity source files has no"
                    + " jwtBundles (expected: identity.jwtBundles, a JWKS file per trust domain whose JWT-SVIDs"
                    + " are accepted)");
        }
        routeSources = routeSources == null ? List.of() : List.copyOf(routeSources);
        etcd = requireNonNullElse(etcd, EtcdConfig.defaults());
        fleet = requireNonNullElse(fleet, FleetConfig.defaults());
        boolean shared = tasks.store().equals(TasksConfig.ETCD);
        if (shared && etcd.endpoints().isEmpty()) {
            throw new IllegalArgumentException("etcd: endpoints missing, but tasks.store is etcd (expected: an etcd"
                    + " section with endpoints, such as [http://127.0.0.1:2379])");
        }
        if (!shared && !etcd.equals(EtcdConfig.defaults())) {
            throw new IllegalArgumentException("etcd: set, but tasks.store is " + tasks.store()
                    + " (expected: tasks.store: etcd, or no etcd section)");
        }
        if (!shared && !fleet.equals(FleetConfig.defaults())) {
            throw new IllegalArgumentException("fleet: set, but tasks.store is " + tasks.store()
                    + " (expected: tasks.store: etcd, or no fleet section)");
        }
        Set<String> names = new HashSet<>();
        Set<String> matches = new HashSet<>();
        for (RouteConfig r : routes) {
            if (!names.add(r.name())) {
                throw new IllegalArgumentException("route name " + r.name() + " is used twice (expected: unique)");
            }
            String match = r.prefix() != null ? r.prefix() : "/" + r.grpc() + "/";
            if (!matches.add(match)) {
                throw new IllegalArgumentException("route " + r.name() + ": " + match + " is matched by another route");
            }
        }
    }

    public SidecarConfig(ListenerConfig listener, IdentityConfig identity, LimitsConfig limits,
                         TimeoutsConfig timeouts, AuditConfig audit, AdminConfig admin, List<RouteConfig> routes) {
        this(listener, identity, limits, timeouts, audit, admin, routes, null, null, null, null, null, null, null, null, false);
    }

    /** Without policy files. */
    public SidecarConfig(ListenerConfig listener, IdentityConfig identity, LimitsConfig limits,
                         TimeoutsConfig timeouts, AuditConfig audit, AdminConfig admin, List<RouteConfig> routes,
                         TasksConfig tasks) {
        this(listener, identity, limits, timeouts, audit, admin, routes, tasks, null, null, null, null, null, null, null, false);
    }

    /** The same configuration with a different route list (tests, demo), no longer tied to route files. */
    public SidecarConfig withRoutes(List<RouteConfig> newRoutes) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, newRoutes, tasks, policies,
                control, approvals, access, null, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    /** The same routes, read from (and watched in) these files and directories. */
    public SidecarConfig withRouteSources(List<Path> newSources) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, routes, tasks, policies, control,
                approvals, access, newSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    public SidecarConfig withListener(ListenerConfig newListener) {
        return new SidecarConfig(newListener, identity, limits, timeouts, audit, admin, routes, tasks, policies,
                control, approvals, access, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    public SidecarConfig withLimits(LimitsConfig newLimits) {
        return new SidecarConfig(listener, identity, newLimits, timeouts, audit, admin, routes, tasks, policies,
                control, approvals, access, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    public SidecarConfig withAudit(AuditConfig newAudit) {
        return new SidecarConfig(listener, identity, limits, timeouts, newAudit, admin, routes, tasks, policies,
                control, approvals, access, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    public SidecarConfig withAdmin(AdminConfig newAdmin) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, newAdmin, routes, tasks, policies,
                control, approvals, access, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    public SidecarConfig withTasks(TasksConfig newTasks) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, routes, newTasks, policies,
                control, approvals, access, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    /** The same configuration with other policy files and directories (tests, demo). */
    public SidecarConfig withPolicies(List<Path> newPolicies) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, routes, tasks, newPolicies,
                control, approvals, access, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    public SidecarConfig withControl(ControlConfig newControl) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, routes, tasks, policies,
                newControl, approvals, access, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    /** Without approval settings (the defaults apply) and route sources (routes given directly). */
    public SidecarConfig(ListenerConfig listener, IdentityConfig identity, LimitsConfig limits,
                         TimeoutsConfig timeouts, AuditConfig audit, AdminConfig admin, List<RouteConfig> routes,
                         TasksConfig tasks, List<Path> policies, ControlConfig control) {
        this(listener, identity, limits, timeouts, audit, admin, routes, tasks, policies, control, null, null, null,
                null, null, false);
    }

    public SidecarConfig withApprovals(ApprovalsConfig newApprovals) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, routes, tasks, policies, control,
                newApprovals, access, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    /** The same configuration with other access lists. */
    public SidecarConfig withAccess(AccessConfig newAccess) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, routes, tasks, policies, control,
                approvals, newAccess, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }

    /** The same configuration with its tasks kept on this etcd cluster ({@code tasks.store: etcd}). */
    public SidecarConfig withEtcd(EtcdConfig newEtcd) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, routes,
                tasks.withStore(TasksConfig.ETCD), policies, control, approvals, access, routeSources, newEtcd,
                fleet, unrestrictedWithoutPolicy);
    }

    /** The same configuration with another bound on the age of a shared store's view. */
    public SidecarConfig withFleet(FleetConfig newFleet) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, routes, tasks, policies,
                control, approvals, access, routeSources, etcd, newFleet,
                unrestrictedWithoutPolicy);
    }

    /** The same configuration with the opt-out of failing closed without policy set or cleared. */
    public SidecarConfig withUnrestrictedWithoutPolicy(boolean unrestricted) {
        return new SidecarConfig(listener, identity, limits, timeouts, audit, admin, routes, tasks, policies,
                control, approvals, access, routeSources, etcd, fleet, unrestricted);
    }

    public SidecarConfig withTimeouts(TimeoutsConfig newTimeouts) {
        return new SidecarConfig(listener, identity, limits, newTimeouts, audit, admin, routes, tasks, policies,
                control, approvals, access, routeSources, etcd, fleet,
                unrestrictedWithoutPolicy);
    }
}
