package dev.toolgate.cli;

import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the shaded jar and of the {@code ./toolgate} launcher. */
@Command(name = "toolgate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Runtime authorization sidecar for autonomous AI agents.",
        subcommands = {RunCommand.class, DemoCommand.class, DevCaCommand.class, TaskCommand.class, TailCommand.class,
                ApprovalsCommand.class, AuditCommand.class, PolicyCommand.class, CompletionCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        bridgeJulToSlf4j();
        System.exit(commandLine().execute(args));
    }

    /**
     * Sends java.util.logging records (java-spiffe's Workload API client logs through it, as parts of grpc-java do)
     * to SLF4J, so they reach Logback's diagnostics on stderr in the same format as everything else. Idempotent.
     */
    static void bridgeJulToSlf4j() {
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
    }

    /** The configured command line (tests call {@code execute} on it). */
    public static CommandLine commandLine() {
        return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"toolgate " + (v == null ? "dev" : v)};
        }
    }
}
