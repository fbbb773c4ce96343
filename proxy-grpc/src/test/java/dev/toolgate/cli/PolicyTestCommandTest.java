package dev.toolgate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code toolgate policy test} through the real command line: the shipped example tests pass on the shipped
 * policy (so CI runs them), a wrong expectation fails with expected, actual and the deciding rule, rules no case
 * decided are reported, and a file that does not load cannot run.
 */
class PolicyTestCommandTest {
    static final String ROUTES = """
            routes:
              - name: weather
                prefix: /api/weather
                upstream: {url: "http://127.0.0.1:9"}
                labels: [external]
              - name: crm
                prefix: /api/crm
                upstream: {url: "http://127.0.0.1:9"}
                labels: [pii]
              - name: tools
                prefix: /mcp/tools
                protocol: mcp
                upstream: {url: "http://127.0.0.1:9/mcp"}
            """;
    static final String POLICY = """
            kind: Policy
            name: team
            subjects: ["spiffe://t.test/agents/*"]
            allow:
              - name: forecast
                route: weather
                operations: ["GET /forecast/**"]
              - name: customers
                route: crm
                operations: ["GET /customers/*"]
              - name: search
                route: tools
                operations: ["mcp:tools/call:search"]
                when: 'has(mcp.arguments.q) && mcp.arguments.q != "secret"'
            deny:
              - name: no-admin
                route: weather
                operations: ["GET /forecast/admin/**"]
                reason: "no admin forecasts"
            flows:
              - name: no-pii-out
                after: [pii]
                deny: [external]
            """;

    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private Path write(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void theShippedExampleTestsPassOnTheShippedPolicy() throws Exception {
        List<String> args = new ArrayList<>(List.of("policy", "test", "--routes", "../config/routes",
                "--policy", "../config/policies/example.yaml"));
        try (Stream<Path> tests = Files.list(Path.of("../config/policies/tests"))) {
            tests.filter(p -> p.toString().endsWith(".yaml")).sorted().forEach(p -> args.add(p.toString()));
        }
        assertThat(args).hasSizeGreaterThan(6);

        Run r = run(args.toArray(String[]::new));

        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains(" 0 failed").doesNotContain("FAIL");
        assertThat(r.exit()).isZero();
    }

    @Test
    void aWrongExpectationFailsWithExpectedActualAndTheDecidingRule() throws Exception {
        Path tests = write("t.yaml", """
                cases:
                  - name: admin forecasts are denied
                    caller: spiffe://t.test/agents/a1
                    grants: [{route: weather, operations: ["GET /forecast/**"]}]
                    call: {route: weather, operation: GET /forecast/admin/x}
                    expect: ALLOW
                  - name: a forecast
                    caller: spiffe://t.test/agents/a1
                    grants: [{route: weather, operations: ["GET /forecast/**"]}]
                    call: {route: weather, operation: GET /forecast/oslo}
                    expect: ALLOW
                    rule: team/forecast
                """);

        Run r = run("policy", "test", "--routes", write("r.yaml", ROUTES).toString(), "--policy",
                write("p.yaml", POLICY).toString(), tests.toString());

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("FAIL " + tests + ":2 admin forecasts are denied\n"
                + "  expected: ALLOW\n"
                + "  actual:   DENY_POLICY by rule team/no-admin\n"
                + "  reason:   no admin forecasts\n"
                + "  call:     GET /api/weather/forecast/admin/x on route weather\n");
        assertThat(r.out()).contains("2 cases, 1 passed, 1 failed");
        assertThat(r.out()).contains("rules no case exercised (3):\n  team/customers\n  team/search\n"
                + "  team/no-pii-out\n");
    }

    @Test
    void historyArgumentsAndHeadersReachTheDecision() throws Exception {
        Path tests = write("t.yaml", """
                cases:
                  - name: flow after pii
                    caller: spiffe://t.test/agents/a1
                    grants: [{route: weather, operations: ["GET /forecast/**"]}]
                    history: {labels: [pii], calls: 2}
                    call: {route: weather, operation: GET /forecast/oslo}
                    expect: DENY_FLOW
                    rule: team/no-pii-out
                  - name: mcp arguments seen by the condition
                    caller: spiffe://t.test/agents/a1
                    grants: [{route: tools, operations: ["mcp:tools/call:search"]}]
                    call: {route: tools, operation: mcp:tools/call:search, arguments: {q: secret}}
                    expect: DENY_CONDITION
                    rule: team/search
                  - name: a grant condition on a header
                    caller: spiffe://t.test/agents/a1
                    grants: [{route: crm, operations: ["GET /customers/*"],
                              condition: 'request.headers["x-tenant"] == "acme"'}]
                    call: {route: crm, operation: GET /customers/7, headers: {X-Tenant: globex}}
                    expect: DENY_CONDITION
                  - name: the same with the right header
                    caller: spiffe://t.test/agents/a1
                    grants: [{route: crm, operations: ["GET /customers/*"],
                              condition: 'request.headers["x-tenant"] == "acme"'}]
                    call: {route: crm, operation: GET /customers/7, headers: {X-Tenant: acme}}
                    expect: allow
                """);

        Run r = run("policy", "test", "-v", "--routes", write("r.yaml", ROUTES).toString(), "--policy",
                write("p.yaml", POLICY).toString(), tests.toString());

        assertThat(r.out()).contains("4 cases, 4 passed, 0 failed").contains("PASS " + tests + ":9 mcp arguments");
        assertThat(r.exit()).isZero();
    }

    @Test
    void jsonOutputNamesEveryCaseAndTheUnexercisedRules() throws Exception {
        Path tests = write("t.yaml", """
                cases:
                  - name: a forecast
                    caller: spiffe://t.test/agents/a1
                    grants: [{route: weather, operations: ["GET /forecast/**"]}]
                    call: {route: weather, operation: GET /forecast/oslo}
                    expect: DENY_POLICY
                  - name: a case on a route that does not exist
                    caller: spiffe://t.test/agents/a1
                    call: {route: nowhere, operation: GET /x}
                    expect: DENY_NO_TASK
                """);
        Path routes = write("r.yaml", ROUTES);
        Path policy = write("p.yaml", POLICY);

        Run bad = run("policy", "test", "--routes", routes.toString(), "--policy", policy.toString(),
                tests.toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains(tests + ":7: call.route: \"nowhere\" is not a configured route");

        String text = Files.readString(tests);
        Files.writeString(tests, text.substring(0, text.indexOf("  - name: a case")));
        Run r = run("policy", "test", "--format", "json", "--routes", routes.toString(), "--policy",
                policy.toString(), tests.toString());

        assertThat(r.exit()).isEqualTo(1);
        com.fasterxml.jackson.databind.JsonNode root = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(r.out());
        assertThat(root.get("failed").asInt()).isEqualTo(1);
        assertThat(root.get("cases").get(0).get("code").asText()).isEqualTo("ALLOW");
        assertThat(root.get("cases").get(0).get("rule").asText()).isEqualTo("team/forecast");
        assertThat(root.get("cases").get(0).get("passed").asBoolean()).isFalse();
        assertThat(root.get("unexercised").toString()).contains("team/no-admin").doesNotContain("team/forecast");
    }

    @Test
    void aTestFileWithAnUnknownKeyCannotRun() throws Exception {
        Path tests = write("t.yaml", """
                cases:
                  - name: typo
                    caller: spiffe://t.test/agents/a1
                    call: {route: weather, operation: GET /forecast/oslo}
                    expct: ALLOW
                """);

        Run r = run("policy", "test", "--routes", write("r.yaml", ROUTES).toString(), "--policy",
                write("p.yaml", POLICY).toString(), tests.toString());

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(tests + ":5: cases[0].expct: unknown key");
    }

    @Test
    void aPolicyThatDoesNotCompileCannotRun() throws Exception {
        Path tests = write("t.yaml", """
                cases:
                  - {name: x, caller: "spiffe://t.test/agents/a1", call: {route: weather, operation: GET /}, \
                expect: DENY_NO_TASK}
                """);

        Run r = run("policy", "test", "--routes", write("r.yaml", ROUTES).toString(), "--policy",
                write("p.yaml", POLICY.replace("route: crm", "route: nowhere")).toString(), tests.toString());

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("p.yaml:").contains("\"nowhere\" is not a configured route");
        assertThat(r.out()).isEmpty();
    }
}
