package dev.toolgate.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the shaded jar and of the {@code ./toolgate} launcher. */
@Command(name = "toolgate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Runtime authorization sidecar for autonomous AI agents.",
        subcommands = {RunCommand.class, DemoCommand.class, DevCaCommand.class, TaskCommand.class, TailCommand.class,
                ApprovalsCommand.class, AuditCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
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
