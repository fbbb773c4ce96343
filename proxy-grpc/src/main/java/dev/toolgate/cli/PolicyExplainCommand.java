package dev.toolgate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toolgate.api.v1.RequestedGrant;
import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.policy.PolicyTrace;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code toolgate policy explain}: decides one call given on the command line (the same inputs as a test case)
 * through {@link PolicyBench}, with the policy traced, and prints the decision, the rules that matched the call with
 * what their conditions gave, and the values the conditions saw (MCP arguments as the route's audit settings record
 * them: captured ones redacted, the rest only as a digest). Exit 0 allowed, 1 denied, 2 could not run.
 */
@Command(name = "explain", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Decide one call through the sidecar's own code and show the rules that matched, the"
                + " conditions and the values they saw. Exit 0 allowed, 1 denied, 2 could not run.")
final class PolicyExplainCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--routes", required = true, paramLabel = "R", description = "Route files or directories.")
    List<Path> routes;

    @Option(names = "--policy", required = true, paramLabel = "P", description = "Policy files or directories.")
    List<Path> policies;

    @Option(names = "--caller", required = true, paramLabel = "SPIFFE_ID", description = "Who calls.")
    String caller;

    @Option(names = "--proof", defaultValue = "x509", description = "x509 or jwt (default: ${DEFAULT-VALUE}).")
    String proof;

    @Option(names = "--purpose", defaultValue = "policy explain", description = "The task's purpose.")
    String purpose;

    @Option(names = "--grant", paramLabel = "GRANT", description = "Repeatable: the task's grants, "
            + GrantSpecs.SYNTAX + ". None: the call carries no task.")
    List<String> grants;

    @Option(names = "--labels", split = ",", paramLabel = "LABEL",
            description = "Labels of the routes the task touched before this call.")
    List<String> labels;

    @Option(names = "--calls", paramLabel = "N", description = "The task's calls so far (default: 1 with labels).")
    Long calls;

    @Option(names = "--at", paramLabel = "INSTANT", description = "When the call is made (default: "
            + "2026-01-05T12:00:00Z).")
    Instant at;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    /** The call: an operation on a route, or a raw request target. */
    static final class Target {
        @ArgGroup(exclusive = false)
        OnRoute onRoute;

        @ArgGroup(exclusive = false)
        Raw raw;
    }

    /** An operation on a route, in grant syntax. */
    static final class OnRoute {
        @Option(names = "--route", required = true, description = "The route the call is on.")
        String route;

        @Option(names = "--operation", required = true, paramLabel = "OP",
                description = "GET /path (relative to the route), grpc:pkg.Service/Method, mcp:tools/call:<tool>, ...")
        String operation;
    }

    /** A raw request as the agent sends it. */
    static final class Raw {
        @Option(names = "--method", defaultValue = "GET", description = "The HTTP method of --target.")
        String method;

        @Option(names = "--target", required = true, description = "The request target, e.g. /api/weather/x.")
        String target;
    }

    @Option(names = "--arguments", paramLabel = "JSON", description = "MCP arguments as a JSON object.")
    String arguments;

    @Option(names = "--header", paramLabel = "NAME=VALUE", description = "Repeatable: a request header.")
    List<String> headers;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        PolicyCase c;
        PolicyBench bench;
        List<PolicyTrace.Looked> looked = new ArrayList<>();
        List<Map<String, Object>> seen = new ArrayList<>();
        try {
            c = explained();
            PolicyBench plain = PolicyCommand.bench(routes, policies);
            bench = new PolicyBench(plain.routes(), plain.policy().traced(new PolicyTrace() {
                @Override
                public void call(Map<String, Object> variables) {
                    seen.add(variables);
                }

                @Override
                public void rule(Looked l) {
                    looked.add(l);
                }
            }));
        } catch (PolicyCommand.LoadFailure | IllegalArgumentException e) {
            err.println(e.getMessage());
            err.flush();
            return PolicyCommand.CANNOT_RUN;
        }
        PolicyBench.Outcome o;
        try {
            o = bench.decide(c);
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            err.flush();
            return PolicyCommand.CANNOT_RUN;
        }
        if (o.operation() != null) {
            out.println("call:      " + o.operation() + (o.route() == null ? "" : " on route " + o.route()));
        }
        out.println("decision:  " + o.code() + (o.rule() == null ? "" : " by rule " + o.rule()));
        out.println("reason:    " + o.reason());
        if (looked.isEmpty()) {
            out.println(seen.isEmpty() ? "policy:    not consulted (the decision came before it)"
                    : "policy:    no rule matched the call");
        } else {
            out.println("rules that matched the call, in the order they were looked at:");
            for (PolicyTrace.Looked l : looked) {
                out.println("  " + String.format("%-5s", l.kind()) + " " + l.rule() + (l.withShadow()
                        ? " (with shadow documents)" : "") + ": " + condition(l));
            }
        }
        if (!seen.isEmpty()) {
            out.println("values the conditions saw:");
            Map<String, Object> vars = redacted(seen.get(0), bench.route(o.route()), c);
            vars.forEach((k, v) -> out.println("  " + k + " = " + v));
        }
        out.flush();
        return o.code().equals("ALLOW") ? PolicyCommand.CLEAN : PolicyCommand.FINDINGS;
    }

    private static String condition(PolicyTrace.Looked l) {
        if (l.condition() == null) {
            return l.kind().equals("flow") ? "fired (the task touched a label in after; the route has one in deny)"
                    : "no condition";
        }
        String result = l.error() != null ? "could not be evaluated: " + l.error()
                : l.held() ? "holds" : "does not hold";
        return "when " + l.condition() + " -> " + result;
    }

    /** The variables as the audit would show them: MCP arguments only as the route captures them, plus a digest. */
    private static Map<String, Object> redacted(Map<String, Object> vars, RouteConfig route, PolicyCase c) {
        Map<String, Object> out = new LinkedHashMap<>(vars);
        Object mcp = vars.get("mcp");
        if (mcp instanceof Map<?, ?> m && m.containsKey("arguments")) {
            Map<Object, Object> shown = new LinkedHashMap<>(m);
            JsonNode args = c.call().arguments() == null ? JSON.createObjectNode() : c.call().arguments();
            ArgumentCapture capture = route == null ? ArgumentCapture.NONE : ArgumentCapture.of(route.audit());
            shown.put("arguments", capture.capture(args) + " (captured by the route's audit settings, redacted; "
                    + args.size() + " in all, args_digest " + ArgumentCapture.digest(args) + ")");
            out.put("mcp", shown);
        }
        return out;
    }

    /** The call as a {@link PolicyCase}, from the options. */
    private PolicyCase explained() {
        SpiffeId id = SpiffeId.parse(caller);
        if (!proof.equals("x509") && !proof.equals("jwt")) {
            throw new IllegalArgumentException("--proof: \"" + proof + "\" (expected: x509 or jwt)");
        }
        List<GrantRequest> asked = null;
        if (grants != null) {
            asked = new ArrayList<>();
            for (String g : grants) {
                RequestedGrant r = GrantSpecs.parse(g);
                asked.add(new GrantRequest(r.getRoute(), r.getOperationsList(), r.getWhen().isEmpty() ? null
                        : r.getWhen(), r.hasBudget() ? r.getBudget() : null, r.hasTtl()
                        ? Duration.ofSeconds(r.getTtl().getSeconds(), r.getTtl().getNanos()) : null));
            }
        }
        LinkedHashSet<String> touched = new LinkedHashSet<>(labels == null ? List.of() : labels);
        long n = calls != null ? calls : touched.isEmpty() ? 0 : 1;
        if (!touched.isEmpty() && n < 1) {
            throw new IllegalArgumentException("--calls: 0 with --labels (expected: >= 1)");
        }
        if (asked == null && (!touched.isEmpty() || n > 0)) {
            throw new IllegalArgumentException("--labels/--calls: a history needs a task (expected: --grant)");
        }
        JsonNode args = null;
        if (arguments != null) {
            try {
                args = JSON.readTree(arguments);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("--arguments: not JSON: " + e.getMessage());
            }
            if (!(args instanceof ObjectNode)) {
                throw new IllegalArgumentException("--arguments: expected a JSON object");
            }
        }
        Map<String, List<String>> h = new LinkedHashMap<>();
        for (String kv : headers == null ? List.<String>of() : headers) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--header \"" + kv + "\" (expected: NAME=VALUE)");
            }
            h.computeIfAbsent(kv.substring(0, eq).trim().toLowerCase(java.util.Locale.ROOT), k -> new ArrayList<>())
                    .add(kv.substring(eq + 1));
        }
        PolicyCase.CallSpec call = target.onRoute != null
                ? new PolicyCase.CallSpec(target.onRoute.route, target.onRoute.operation, null, null, args, h)
                : new PolicyCase.CallSpec(null, null, target.raw.method, target.raw.target, args, h);
        return new PolicyCase("command line", "explain", id, proof.equals("jwt") ? IdentityProof.JWT
                : IdentityProof.X509, purpose, asked, touched, n, at == null ? PolicyCases.DEFAULT_AT : at, call,
                null, null);
    }
}
