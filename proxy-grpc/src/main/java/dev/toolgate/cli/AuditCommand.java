package dev.toolgate.cli;

import dev.toolgate.audit.AuditVerifier;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code toolgate audit verify FILE...}: checks the hash chain of audit files; exit 0 intact, 1 broken, 3 a torn
 * tail after an intact chain.
 */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Audit trail tools.",
        subcommands = AuditCommand.Verify.class)
final class AuditCommand {

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Verify the hash chain of audit files (oldest first); exit 1 at the first break, "
                    + "3 if every record verified but the last line is a torn tail (a write cut short by a crash, "
                    + "moved aside at the sidecar's next start).")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(arity = "1..*", paramLabel = "FILE", description = "Audit files, oldest first.")
        List<Path> files;

        @Option(names = "--partial",
                description = "The first file does not start the chain (older files were rotated away).")
        boolean partial;

        @Override
        public Integer call() throws Exception {
            AuditVerifier.Result r = partial ? AuditVerifier.verify(files, null)
                    : AuditVerifier.verifyFromGenesis(files);
            spec.commandLine().getOut().println(r);
            spec.commandLine().getOut().flush();
            return r.ok() ? 0 : r.tornTail() ? 3 : 1;
        }
    }
}
