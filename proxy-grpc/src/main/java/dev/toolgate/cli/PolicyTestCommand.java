package dev.toolgate.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * the rules no case exercised (no case was decided by them), as text or JSON. Exit 0 all passed, 1 a case failed,
 * 2 a file did not load or a case could not be decided.
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

    @Option(names = {"-v", "--verbose"}, description = "Print passing cases too (text format).")
    boolean verbose;

    @Option(names = "--format", defaultValue = "text", description = "text or json (default: ${DEFAULT-VALUE}).")
    PolicyLintCommand.Format format;

    @Parameters(arity = "1..*", paramLabel = "TESTS", description = "Test files (YAML with cases:).")
    List<Path> tests;

    /** One decided case. */
    private record Result(PolicyCase c, PolicyBench.Outcome o) {
        boolean passed() {
            return o.code().equals(c.expect()) && (c.rule() == null || c.rule().equals(o.rule()));
        }
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        List<Result> results = new ArrayList<>();
        Set<String> exercised = new LinkedHashSet<>();
        PolicyBench bench;
        try {
            bench = PolicyCommand.bench(routes, policies);
            List<PolicyCase> cases = new ArrayList<>();
            for (Path t : tests) {
                cases.addAll(PolicyCases.read(t));
            }
            for (PolicyCase c : cases) {
                PolicyBench.Outcome o;
                try {
                    o = bench.decide(c);
                } catch (IllegalArgumentException e) {
                    throw new PolicyCases.BadCase(c.where() + ": " + e.getMessage());
                }
                if (o.rule() != null) {
                    exercised.add(o.rule());
                }
                results.add(new Result(c, o));
            }
        } catch (PolicyCommand.LoadFailure | PolicyCases.BadCase e) {
            err.println(e.getMessage());
            err.flush();
            return PolicyCommand.CANNOT_RUN;
        }
        List<String> unexercised = new ArrayList<>(bench.policy().rules());
        unexercised.removeAll(exercised);
        long failed = results.stream().filter(r -> !r.passed()).count();
        PrintWriter out = spec.commandLine().getOut();
        if (format == PolicyLintCommand.Format.json) {
            out.println(json(results, unexercised, failed).toPrettyString());
        } else {
            text(out, results, unexercised, failed);
        }
        out.flush();
        return failed == 0 ? PolicyCommand.CLEAN : PolicyCommand.FINDINGS;
    }

    private void text(PrintWriter out, List<Result> results, List<String> unexercised, long failed) {
        for (Result r : results) {
            PolicyCase c = r.c();
            PolicyBench.Outcome o = r.o();
            if (r.passed()) {
                if (verbose) {
                    out.println("PASS " + c.where() + " " + c.name());
                }
                continue;
            }
            out.println("FAIL " + c.where() + " " + c.name());
            out.println("  expected: " + c.expect() + (c.rule() == null ? "" : " by rule " + c.rule()));
            out.println("  actual:   " + o.code() + " by rule " + (o.rule() == null ? "(none)" : o.rule()));
            out.println("  reason:   " + o.reason());
            if (o.operation() != null) {
                out.println("  call:     " + o.operation() + (o.route() == null ? "" : " on route " + o.route()));
            }
        }
        out.println(results.size() + " cases, " + (results.size() - failed) + " passed, " + failed + " failed");
        if (unexercised.isEmpty()) {
            out.println("every rule decided at least one case");
        } else {
            out.println("rules no case exercised (" + unexercised.size() + "):");
            unexercised.forEach(r -> out.println("  " + r));
        }
    }

    private static ObjectNode json(List<Result> results, List<String> unexercised, long failed) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        var list = root.putArray("cases");
        for (Result r : results) {
            ObjectNode n = list.addObject().put("where", r.c().where()).put("name", r.c().name())
                    .put("passed", r.passed()).put("expect", r.c().expect());
            n.put("expect_rule", r.c().rule()).put("code", r.o().code()).put("rule", r.o().rule())
                    .put("reason", r.o().reason()).put("operation", r.o().operation()).put("route", r.o().route());
        }
        root.put("passed", results.size() - failed).put("failed", failed);
        var rules = root.putArray("unexercised");
        unexercised.forEach(rules::add);
        return root;
    }
}
