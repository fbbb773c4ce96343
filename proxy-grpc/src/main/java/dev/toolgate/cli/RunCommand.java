package dev.toolgate.cli;

import dev.toolgate.config.ConfigException;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.control.ControlServer;
import dev.toolgate.fleet.FleetTaskStores;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.proxy.StartupException;
import dev.toolgate.telemetry.CallSpans;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code toolgate run --config FILE}: the sidecar, until SIGTERM or SIGINT. The data plane (with everything it
 * owns) comes from {@link ProxyServer#builder}, the control API starts on top of it; they stop in reverse order.
 */
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
        CallSpans spans;
        try {
            spans = Tracing.fromEnvironment();
        } catch (IllegalArgumentException | ConfigurationException e) {
            // An exporter this build does not have, or settings the SDK refuses: said in one line, never a trace.
            System.err.println("toolgate: tracing: " + e.getMessage());
            return 2;
        }
        ProxyServer server;
        try {
            server = ProxyServer.builder(cfg).taskStores(FleetTaskStores.all()).spans(spans)
                    .workerThreads(workers).build();
        } catch (StartupException e) {
            System.err.println("toolgate: " + e.getMessage());
            return 2;
        } catch (IllegalArgumentException e) {
            // A route's credential settings (the configuration loaded, but a secret or signing setting is unusable).
            System.err.println("toolgate: " + config + ": " + e.getMessage());
            return 2;
        }
        ControlServer control;
        try {
            control = ControlServer.start(server);
        } catch (java.io.IOException e) {
            System.err.println("toolgate: " + e.getMessage());
            server.close();
            return 2;
        }
        System.err.printf("toolgate: serving agents on %s as %s; control API on %s; admin on %s; audit trail in %s%n",
                server.address(), server.tls().svid().id(), control.address(), server.admin().address(),
                cfg.audit().file());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // The control API first; the data plane then closes admin, routes, listener, policy, tasks, audit and,
            // last, the identity (nothing needs the SVID any more).
            control.close();
            server.close();
            stopped.countDown();
        }, "toolgate-shutdown"));
        stopped.await();
        return 0;
    }
}
