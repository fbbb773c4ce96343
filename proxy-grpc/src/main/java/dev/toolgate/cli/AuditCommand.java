package dev.toolgate.cli;

import dev.toolgate.audit.AuditVerifier;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code toolgate audit verify FILE...}: checks the hash chain of audit files. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Audit trail tools.",
        subcommands = AuditCommand.Verify.class)
final class AuditCommand {

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Verify the hash chain of audit files (oldest first); exit 1 at the first break.")
    static final class Verify implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "FILE", description = "Audit files, oldest first.")
        List<Path> files;

        @Option(names = "--partial",
                description = "The first file does not start the chain (older files were rotated away).")
        boolean partial;

        @Override
        public Integer call() throws Exception {
            AuditVerifier.Result r = partial ? AuditVerifier.verify(files, null)
                    : AuditVerifier.verifyFromGenesis(files);
            System.out.println(r);
            return r.ok() ? 0 : 1;
        }
    }
}
