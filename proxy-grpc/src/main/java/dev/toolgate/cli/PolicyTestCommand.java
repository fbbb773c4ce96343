package dev.toolgate.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code toolgate policy test --routes R --policy P TESTS...}: decides every case of the test files through
 * {@link PolicyBench} (the sidecar's own decision path) and compares the decision code (and the deciding rule,
 * where a case names one) with what the case expects. Prints each failure with expected and actual, a summary, and
 * the rules no case exercised (no case was decided by them). Exit 0 all passed, 1 a case failed, 2 a file did not
 * load or a case could not be decided.
 */
@Command(name = "test", mixinStandardHelpOptions = true,
        description = "Run YAML test cases (caller, task grants and history, call -> expected decision code) against"
                + " a policy through the sidecar's own decision code. Exit 0 all pass, 1 failures, 2 could not run.")
final class PolicyTestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--routes", required = true, paramLabel = "R",
            description = "Route files or directories (as the sidecar's routes:).")
    List<Path> routes;

    @Option(names = "--policy", required = true, paramLabel = "P",
            description = "Policy files or directories (repeatable).")
    List<Path> policies;

    @Option(names = {"-v", "--verbose"}, description = "Print passing cases too.")
    boolean verbose;

    @Parameters(arity = "1..*", paramLabel = "TESTS", description = "Test files (YAML with cases:).")
    List<Path> tests;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            PolicyBench bench = PolicyCommand.bench(routes, policies);
            List<PolicyCase> cases = new ArrayList<>();
            for (Path t : tests) {
                cases.addAll(PolicyCases.read(t));
            }
            Set<String> exercised = new LinkedHashSet<>();
            int failed = 0;
            for (PolicyCase c : cases) {
                PolicyBench.Outcome o;
                try {
                    o = bench.decide(c);
                } catch (IllegalArgumentException e) {
                    err.println(c.where() + ": " + e.getMessage());
                    err.flush();
                    return PolicyCommand.CANNOT_RUN;
                }
                if (o.rule() != null) {
                    exercised.add(o.rule());
                }
                boolean codeOk = o.code().equals(c.expect());
                boolean ruleOk = c.rule() == null || c.rule().equals(o.rule());
                if (codeOk && ruleOk) {
                    if (verbose) {
                        out.println("PASS " + c.where() + " " + c.name());
                    }
                    continue;
                }
                failed++;
                out.println("FAIL " + c.where() + " " + c.name());
                out.println("  expected: " + c.expect() + (c.rule() == null ? "" : " by rule " + c.rule()));
                out.println("  actual:   " + o.code() + " by rule " + (o.rule() == null ? "(none)" : o.rule()));
                out.println("  reason:   " + o.reason());
                if (o.operation() != null) {
                    out.println("  call:     " + o.operation() + (o.route() == null ? "" : " on route " + o.route()));
                }
            }
            out.println(cases.size() + " cases, " + (cases.size() - failed) + " passed, " + failed + " failed");
            List<String> unexercised = new ArrayList<>();
            for (String r : bench.policy().rules()) {
                if (!exercised.contains(r)) {
                    unexercised.add(r);
                }
            }
            if (unexercised.isEmpty()) {
                out.println("every rule decided at least one case");
            } else {
                out.println("rules no case exercised (" + unexercised.size() + "):");
                unexercised.forEach(r -> out.println("  " + r));
            }
            out.flush();
            return failed == 0 ? PolicyCommand.CLEAN : PolicyCommand.FINDINGS;
        } catch (PolicyCommand.LoadFailure | PolicyCases.BadCase e) {
            err.println(e.getMessage());
            err.flush();
            return PolicyCommand.CANNOT_RUN;
        }
    }
}
