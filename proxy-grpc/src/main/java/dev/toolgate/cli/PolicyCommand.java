package dev.toolgate.cli;

import dev.toolgate.config.ConfigException;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.policy.PolicyException;
import dev.toolgate.policy.PolicyLoader;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;

/**
 * {@code toolgate policy test|lint|explain}: the security team's tools, offline, on files. Every one decides through
 * the sidecar's own code ({@link PolicyBench}: the task registry, {@code Admission}, the {@code Authorizer} and the
 * policy set), never through a copy of it. Exit codes: 0 clean, 1 findings (a failed case, a lint finding, a denied
 * call), 2 could not run (a file that does not load, bad options).
 */
@Command(name = "policy", mixinStandardHelpOptions = true,
        description = "Test, lint and explain policies offline (exit 0 clean, 1 findings, 2 could not run).",
        subcommands = {PolicyTestCommand.class, PolicyLintCommand.class, PolicyExplainCommand.class})
final class PolicyCommand {
    /** Exit status: clean. */
    static final int CLEAN = 0;
    /** Exit status: findings (failed cases, lint findings, a denied call). */
    static final int FINDINGS = 1;
    /** Exit status: could not run. */
    static final int CANNOT_RUN = 2;

    private PolicyCommand() {}

    /** A route or policy file that did not load; its message names the file, line and what was expected. */
    static final class LoadFailure extends Exception {
        LoadFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The routes under {@code sources} (files and directories), as the sidecar loads them. */
    static List<RouteConfig> routes(List<Path> sources) throws LoadFailure {
        try {
            return ConfigLoader.loadRoutes(sources).routes();
        } catch (ConfigException e) {
            throw new LoadFailure("routes: " + e.getMessage(), e);
        }
    }

    /** The bench for {@code policies} compiled against the routes under {@code routeSources}. */
    static PolicyBench bench(List<Path> routeSources, List<Path> policies) throws LoadFailure {
        List<RouteConfig> routes = routes(routeSources);
        try {
            return new PolicyBench(routes, PolicyLoader.load(policies, routes));
        } catch (PolicyException e) {
            throw new LoadFailure("policy: " + e.getMessage(), e);
        }
    }
}
