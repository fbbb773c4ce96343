package dev.toolgate.cli;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.ConfigException;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.control.ControlServer;
import dev.toolgate.credential.Credentials;
import dev.toolgate.credential.SigningKeys;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.policy.PolicyException;
import dev.toolgate.policy.PolicySet;
import dev.toolgate.policy.PolicyWatcher;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.proxy.AdminServer;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.proxy.RouteReloader;
import dev.toolgate.telemetry.ProxyMetrics;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code toolgate run --config FILE}: the sidecar, until SIGTERM or SIGINT. */
@Command(name = "run", mixinStandardHelpOptions = true, description = "Run the sidecar.")
final class RunCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, description = "Sidecar configuration file (YAML).")
    Path config;

    @Option(names = "--workers", defaultValue = "0", description = "Event loop threads (0: one per core).")
    int workers;

    @Override
    public Integer call() throws Exception {
        SidecarConfig cfg;
        try {
            cfg = ConfigLoader.load(config);
        } catch (ConfigException e) {
            System.err.println("toolgate: " + e.getMessage());
            return 2;
        }
        SigningKeys keys = SigningKeys.generate();
        Credentials credentials;
        try {
            credentials = Credentials.create(cfg.routes(), keys, Clock.systemUTC());
        } catch (IllegalArgumentException e) {
            System.err.println("toolgate: " + config + ": " + e.getMessage());
            return 2;
        }
        Identities.Loaded identity;
        try {
            identity = Identities.load(cfg.identity());
        } catch (java.io.IOException | java.security.GeneralSecurityException | IllegalArgumentException e) {
            System.err.println("toolgate: cannot load the sidecar's identity (" + cfg.identity().source() + "): "
                    + e.getMessage());
            return 2;
        }
        TlsMaterial tls = identity.tls();
        Path auditFile = cfg.audit().file();
        // The chain continues from the last record of the existing file (a torn last line stops the start-up).
        AuditTrail audit;
        try {
            audit = AuditTrail.open(cfg.audit());
        } catch (java.io.IOException e) {
            System.err.println("toolgate: cannot open the audit trail: " + e.getMessage());
            identity.close();
            return 2;
        }
        PolicyWatcher policies;
        try {
            policies = TaskRegistries.policies(cfg);
        } catch (PolicyException e) {
            System.err.println("toolgate: the policy does not load: " + e.getMessage());
            audit.close();
            identity.close();
            return 2;
        }
        TaskRegistry tasks;
        try {
            tasks = TaskRegistries.open(cfg, audit, policies == null ? PolicySet::unrestricted : policies::current);
        } catch (java.io.IOException e) {
            System.err.println("toolgate: cannot open the task store: " + e.getMessage());
            audit.close();
            identity.close();
            return 2;
        }
        ProxyMetrics metrics = ProxyMetrics.create();
        if (policies != null) {
            metrics.gauge("toolgate.policy.reload.failures", "Policy reloads refused (the old policy stayed in force)",
                    policies, p -> (double) p.failures());
        }
        ProxyServer server = ProxyServer.start(cfg, tls, identity.jwtBundles(), audit, tasks, credentials, metrics,
                Tracing.fromEnvironment(), workers);
        // Routes follow their files from now on (policy already does); listener and identity stay as started.
        RouteReloader routes = null;
        if (!cfg.routeSources().isEmpty()) {
            try {
                routes = RouteReloader.start(server, cfg.routeSources(), policies, metrics,
                        TaskRegistries.RELOAD_INTERVAL);
            } catch (ConfigException e) {
                System.err.println("toolgate: cannot watch the route files: " + e.getMessage());
                server.close();
                tasks.close();
                audit.close();
                identity.close();
                return 2;
            }
        }
        RouteReloader routeFiles = routes;
        Readiness ready = new Readiness(server, audit, tls, tasks, policies, java.time.Clock.systemUTC());
        AdminServer admin = AdminServer.start(cfg.admin().address(), cfg.admin().port(), metrics, ready,
                keys::jwksJson);
        ControlServer control;
        try {
            control = ControlServer.start(cfg, tls, tasks, audit, ready, server::routeSet);
        } catch (java.io.IOException e) {
            System.err.println("toolgate: cannot start the control API on " + cfg.control().address() + ":"
                    + cfg.control().port() + ": " + e.getMessage());
            admin.close();
            if (routeFiles != null) {
                routeFiles.close();
            }
            server.close();
            tasks.close();
            audit.close();
            identity.close();
            return 2;
        }
        System.err.printf("toolgate: serving agents on %s as %s; control API on %s; admin on %s; audit trail in %s%n",
                server.address(), tls.svid().id(), control.address(), admin.address(), auditFile);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            control.close();
            admin.close();
            if (routeFiles != null) {
                routeFiles.close();
            }
            server.close();
            if (policies != null) {
                policies.close();
            }
            try {
                tasks.close();
            } catch (java.io.IOException e) {
                System.err.println("toolgate: closing the task store: " + e.getMessage());
            }
            audit.close();
            // Last: the listeners are closed, so nothing needs the SVID any more (ends SPIRE streams, file polling).
            identity.close();
            stopped.countDown();
        }, "toolgate-shutdown"));
        stopped.await();
        return 0;
    }
}
