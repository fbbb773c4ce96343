package dev.toolgate.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.policy.PolicyException;
import dev.toolgate.policy.PolicyLint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code toolgate policy lint --routes R POLICY...}: what {@link PolicyLint} finds in policy files (compile errors,
 * unknown routes and labels, allows shadowed by denies, broad operations on sensitive routes, constant
 * conditions), each with {@code file:line}, rule, check and severity, as text or JSON. Exit 0 no findings, 1
 * findings, 2 could not run (routes that do not load, a policy file that cannot be read).
 */
@Command(name = "lint", mixinStandardHelpOptions = true,
        description = "Find errors and likely mistakes in policy files (file:line, rule, severity)."
                + " Exit 0 clean, 1 findings, 2 could not run.")
final class PolicyLintCommand implements Callable<Integer> {
    /** The labels {@code **} operations are flagged on unless {@code --sensitive} says otherwise. */
    static final List<String> DEFAULT_SENSITIVE = List.of("pii", "phi", "pci", "secret", "secrets", "sensitive",
            "confidential", "credentials", "financial");

    /** Output formats. */
    enum Format { text, json }

    @Spec
    CommandSpec spec;

    @Option(names = "--routes", required = true, paramLabel = "R",
            description = "Route files or directories (as the sidecar's routes:).")
    List<Path> routes;

    @Option(names = "--format", defaultValue = "text", description = "text or json (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--sensitive", split = ",", paramLabel = "LABEL",
            description = "Route labels on which ** operations are flagged (default: pii, phi, pci, secret, secrets,"
                    + " sensitive, confidential, credentials, financial).")
    List<String> sensitive;

    @Parameters(arity = "1..*", paramLabel = "POLICY", description = "Policy files or directories.")
    List<Path> policies;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<PolicyLint.Finding> findings;
        try {
            List<RouteConfig> loaded = PolicyCommand.routes(routes);
            findings = PolicyLint.lint(policies, loaded, Set.copyOf(sensitive == null ? DEFAULT_SENSITIVE : sensitive));
        } catch (PolicyCommand.LoadFailure | PolicyException e) {
            err.println(e.getMessage());
            err.flush();
            return PolicyCommand.CANNOT_RUN;
        }
        long errors = findings.stream().filter(f -> f.severity() == PolicyLint.Severity.ERROR).count();
        long warnings = findings.size() - errors;
        if (format == Format.json) {
            ObjectMapper json = new ObjectMapper();
            ObjectNode root = json.createObjectNode();
            ArrayNode list = root.putArray("findings");
            for (PolicyLint.Finding f : findings) {
                ObjectNode n = list.addObject().put("file", f.file()).put("line", f.line());
                n.put("rule", f.rule()).put("check", f.check()).put("severity", f.severity().json())
                        .put("message", f.message());
            }
            root.put("errors", errors).put("warnings", warnings);
            out.println(root.toPrettyString());
        } else {
            for (PolicyLint.Finding f : findings) {
                out.println(f.file() + ":" + f.line() + ": " + f.severity().json() + " [" + f.check() + "] "
                        + (f.rule() == null ? "" : f.rule() + ": ") + f.message());
            }
            out.println(findings.isEmpty() ? "no findings"
                    : findings.size() + " findings (" + errors + " errors, " + warnings + " warnings)");
        }
        out.flush();
        return findings.isEmpty() ? PolicyCommand.CLEAN : PolicyCommand.FINDINGS;
    }
}
