package dev.toolgate.cli;

import static dev.toolgate.cli.PolicyTestCommandTest.ROUTES;
import static dev.toolgate.cli.PolicyTestCommandTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.cli.PolicyTestCommandTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code toolgate policy lint} through the real command line: one test per kind of finding, both formats. */
class PolicyLintCommandTest {
    @TempDir
    Path dir;

    private Path write(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private Run lint(String policy, String... extra) throws Exception {
        Path routes = write("routes.yaml", ROUTES);
        Path p = write("p.yaml", policy);
        String[] args = new String[4 + extra.length];
        args[0] = "policy";
        args[1] = "lint";
        args[2] = "--routes=" + routes;
        System.arraycopy(extra, 0, args, 3, extra.length);
        args[args.length - 1] = p.toString();
        return run(args);
    }

    @Test
    void theShippedExamplePolicyLintsClean() {
        Run r = run("policy", "lint", "--routes", "../config/routes", "../config/policies/example.yaml");

        assertThat(r.out()).isEqualTo("no findings\n");
        assertThat(r.exit()).isZero();
    }

    @Test
    void everyUnknownRouteAndLabelIsReportedWithItsLine() throws Exception {
        Run r = lint("""
                kind: Policy
                name: team
                subjects: ["spiffe://t.test/agents/*"]
                allow:
                  - name: a
                    route: wether
                    operations: ["GET /x"]
                  - name: b
                    route: crmm
                    operations: ["GET /y"]
                flows:
                  - name: f
                    after: [pii]
                    deny: [externall]
                """);

        assertThat(r.exit()).isEqualTo(1);
        String p = dir.resolve("p.yaml").toString();
        assertThat(r.out()).contains(p + ":6: error [unknown-route] team/a: route \"wether\" is not a configured route"
                + " (routes: crm, tools, weather)\n");
        assertThat(r.out()).contains(p + ":9: error [unknown-route] team/b: route \"crmm\"");
        assertThat(r.out()).contains(p + ":14: error [unknown-label] team/f: label \"externall\" is on no route");
        assertThat(r.out()).contains("3 findings (3 errors, 0 warnings)").doesNotContain("[compile]");
    }

    @Test
    void anAllowShadowedByADenyWithTheSameOrWiderMatch() throws Exception {
        Run r = lint("""
                kind: Policy
                name: team
                subjects: ["spiffe://t.test/agents/*"]
                allow:
                  - name: admin
                    route: weather
                    operations: ["GET /admin/users", "GET /admin/keys/*"]
                  - name: forecast
                    route: weather
                    operations: ["GET /forecast/*"]
                deny:
                  - name: no-admin
                    route: "*"
                    operations: ["* /admin/**"]
                  - name: not-on-sundays
                    route: weather
                    operations: ["GET /forecast/*"]
                    when: 'now.getDayOfWeek("UTC") == 0'
                """);

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("p.yaml:5: warning [shadowed-allow] team/admin: no call can pass this rule:"
                + " deny rule team/no-admin (no condition) covers every operation of it on route weather\n");
        assertThat(r.out()).doesNotContain("team/forecast").contains("1 findings (0 errors, 1 warnings)");
    }

    @Test
    void broadOperationsOnSensitiveRoutesAndConstantConditions() throws Exception {
        String policy = """
                kind: Policy
                name: team
                subjects: ["spiffe://t.test/agents/*"]
                allow:
                  - name: customers
                    route: crm
                    operations: ["GET /customers/*", "GET /**"]
                  - name: forecast
                    route: weather
                    operations: ["GET /**"]
                    when: "true"
                """;
        Run r = lint(policy);

        assertThat(r.out()).contains("p.yaml:7: warning [broad-sensitive] team/customers: \"GET /**\" allows any"
                + " path on route crm, which is labelled pii");
        assertThat(r.out()).contains("p.yaml:11: warning [constant-condition] team/forecast: the condition is always"
                + " true");
        assertThat(r.out()).doesNotContain("route weather");
        assertThat(r.exit()).isEqualTo(1);

        Run json = lint(policy, "--format", "json", "--sensitive", "external");
        JsonNode root = new ObjectMapper().readTree(json.out());
        assertThat(root.get("warnings").asInt()).isEqualTo(2);
        assertThat(root.get("findings")).anySatisfy(f -> {
            assertThat(f.get("check").asText()).isEqualTo("broad-sensitive");
            assertThat(f.get("rule").asText()).isEqualTo("team/forecast");
            assertThat(f.get("line").asInt()).isEqualTo(10);
            assertThat(f.get("severity").asText()).isEqualTo("warning");
            assertThat(f.get("file").asText()).endsWith("p.yaml");
        });
    }

    @Test
    void aDenyOnMcpHousekeepingNeverFires() throws Exception {
        Run r = lint("""
                kind: Policy
                name: team
                subjects: ["spiffe://t.test/agents/*"]
                allow:
                  - name: search
                    route: tools
                    operations: ["mcp:tools/call:search", "mcp:ping"]
                deny:
                  - name: no-ping
                    route: tools
                    operations: ["mcp:ping", "mcp:initialize"]
                  - name: no-delete
                    route: "*"
                    operations: ["mcp:tools/call:delete", "mcp:ping"]
                """);

        assertThat(r.out()).contains("p.yaml:9: warning [never-fires] team/no-ping: MCP housekeeping (mcp:ping,"
                + " mcp:initialize) passes on any live grant of the route before the policy is asked, so this deny"
                + " rule never fires\n");
        assertThat(r.out()).doesNotContain("team/no-delete").doesNotContain("team/search");
        assertThat(r.exit()).isEqualTo(1);
    }

    @Test
    void aConditionThatDoesNotCompileIsAnErrorWithItsLine() throws Exception {
        Run r = lint("""
                kind: Policy
                name: team
                subjects: ["spiffe://t.test/agents/*"]
                allow:
                  - name: forecast
                    route: weather
                    operations: ["GET /forecast/*"]
                    when: 'task.purpose.contains('
                """);

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).containsPattern("p\\.yaml:8: error \\[compile\\] allow\\[0\\]\\.when: CEL: .+");
    }

    @Test
    void routesThatDoNotLoadCannotRun() throws Exception {
        Run r = run("policy", "lint", "--routes", dir.resolve("missing").toString(),
                write("p.yaml", "kind: Policy\n").toString());

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("missing: not found");
        assertThat(r.out()).isEmpty();
    }
}
