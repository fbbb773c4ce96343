package dev.toolgate.policy;

import static dev.toolgate.policy.Fixtures.RESEARCH;
import static dev.toolgate.policy.Fixtures.ROUTES;
import static dev.toolgate.policy.Fixtures.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.identity.SpiffeId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PolicyLoaderTest {
    @TempDir
    Path dir;

    private PolicySet load(String yaml) throws Exception {
        return PolicyLoader.load(List.of(write(dir, "p.yaml", yaml)), ROUTES);
    }

    @Test
    void theShippedExampleLoadsAgainstTheShippedRoutes() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(Path.of("../config/toolgate.yaml"));
        PolicySet set = PolicyLoader.load(List.of(Path.of("../config/policies")), cfg.routes());
        assertThat(set.documents()).containsExactly("research-agents");
        assertThat(set.version()).hasSize(12).matches("[0-9a-f]{12}");
        SpiffeId agent = SpiffeId.parse("spiffe://toolgate.dev/agents/research/a1");
        assertThat(set.checkGrant(agent, "github-mcp", List.of("mcp:tools/call:search_issues"), Duration.ofMinutes(10),
                50L).allow()).isTrue();
        assertThat(set.checkGrant(agent, "github-mcp", List.of("mcp:tools/call:delete_repo"), Duration.ofMinutes(10),
                50L).allow()).isFalse();
    }

    @Test
    void theDefaultConfigCanNamePolicies() throws Exception {
        write(dir, "policies/a.yaml", RESEARCH);
        Path cfgFile = write(dir, "sidecar.yaml", "policies: [policies/]\n");
        SidecarConfig cfg = ConfigLoader.load(cfgFile);
        assertThat(cfg.policies()).containsExactly(dir.resolve("policies/"));
        assertThat(PolicyLoader.load(cfg.policies(), ROUTES).documents()).containsExactly("research-agents");
        assertThat(ConfigLoader.load(write(dir, "none.yaml", "listener: {port: 0}\n")).policies()).isEmpty();
        assertThatThrownBy(() -> ConfigLoader.load(write(dir, "bad.yaml", "policies: [nowhere/]\n")))
                .hasMessageContaining("policies:").hasMessageContaining("expected: an existing file or directory");
    }

    @Test
    void directoriesAreReadInNameOrderSkippingHiddenAndOtherFiles() throws Exception {
        write(dir, "d/b.yaml", RESEARCH.replace("name: research-agents", "name: b"));
        write(dir, "d/a.yml", RESEARCH.replace("name: research-agents", "name: a"));
        write(dir, "d/.hidden.yaml", "not: a policy");
        write(dir, "d/notes.txt", "not: a policy");
        assertThat(PolicyLoader.files(List.of(dir.resolve("d")))).extracting(p -> p.getFileName().toString())
                .containsExactly("a.yml", "b.yaml");
        assertThat(PolicyLoader.load(List.of(dir.resolve("d")), ROUTES).documents()).containsExactly("a", "b");
    }

    @Test
    void noFilesMeansDenyEverything() throws Exception {
        Files.createDirectories(dir.resolve("empty"));
        PolicySet set = PolicyLoader.load(List.of(dir.resolve("empty")), ROUTES);
        assertThat(set.documents()).isEmpty();
        assertThat(set.version()).isEqualTo(PolicySet.empty().version());
        assertThat(set.checkGrant(Fixtures.RESEARCHER, "weather", List.of("GET /forecast/x"), Duration.ofMinutes(1),
                null).allow()).isFalse();
    }

    @Test
    void theVersionIgnoresCommentsAndLayoutButNotContent() throws Exception {
        String v1 = load(RESEARCH).version();
        String v2 = load("# a comment\n" + RESEARCH.replace("maxTtl: 30m", "maxTtl:   30m   # why")).version();
        String v3 = load(RESEARCH.replace("maxTtl: 30m", "maxTtl: 20m")).version();
        assertThat(v2).isEqualTo(v1);
        assertThat(v3).isNotEqualTo(v1);
    }

    /** Each row: a replacement applied to the research policy, and what the error must say. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            kind: Policy|kind: Polcy|kind: "Polcy" (expected: Policy)
            name: research-agents|name: Research|name: "Research" (expected:
            name: research-agents|nam: x|unknown key (expected: one of allow, deny, flows, kind, mode, name, subjects)
            subjects: ["spiffe://acme.dev/agents/research/*"]|subjects: []|subjects: missing
            subjects: ["spiffe://acme.dev/agents/research/*"]|subjects: ["spiffe://acme.dev/agents/research-*"]|subjects[0]:
            subjects: ["spiffe://acme.dev/agents/research/*"]|subjects: ["acme"]|subjects[0]:
            kind: Policy|kind: Policy\\nmode: audit|mode: "audit" (expected: enforce or shadow)
            route: weather|route: wether|allow[2].route: "wether" is not a configured route (expected: one of crm, github-mcp, inventory-grpc, weather)
            operations: ["GET /forecast/**"]|operations: []|allow[2].operations: missing
            operations: ["GET /forecast/**"]|operations: ["get /forecast"]|allow[2].operations[0]: operation "get /forecast"
            operations: ["GET /forecast/**"]|operations: ["mcp:tools/list"]|is an MCP operation but route weather is http
            operations: ["grpc:demo.Tools/Search"]|operations: ["grpc:other.Tools/Search"]|(expected: demo.Tools, the service of route inventory-grpc)
            operations: ["GET /customers/*"]|operations: ["grpc:demo.Tools/Search"]|is a gRPC operation but route crm is http
            maxTtl: 1h|maxTtl: 1y|allow[2].maxTtl: "1y" (expected: a duration
            maxTtl: 1h|maxTtl: 0s|allow[2].maxTtl: PT0S (expected: > 0)
            maxTtl: 1h|maxTtl: 1h\\n    colour: red|allow[2].colour: unknown key
            approval: required|approval: maybe|allow[3].approval: "maybe" (expected: required or none)
            budget: 100|budget: 0|allow[1].budget: 0 (expected: > 0)
            budget: 100|budget: "100"|allow[1].budget
            rate: {perSecond: 5, burst: 10}|rate: {burst: 10}|allow[1].rate.perSecond: missing
            rate: {perSecond: 5, burst: 10}|rate: {perSecond: 0}|allow[1].rate: perSecond: 0.0 (expected: > 0
            rate: {perSecond: 5, burst: 10}|rate: {perSecond: 5, burst: 10, per: task}|allow[1].rate.per: unknown key
            when: 'mcp.arguments.repo.startsWith("acme/")'|when: 'mcp.arguments.repo.startsWith('|allow[1].when: CEL:
            when: 'mcp.arguments.repo.startsWith("acme/")'|when: 'mcp.tol == "x"'|allow[1].when: CEL: ERROR: <input>:1:4: undefined field 'tol'
            when: 'mcp.arguments.repo.startsWith("acme/")'|when: 'mcp.tool'|expected type 'bool' but found 'string'
            name: search|name: discovery|allow[4].name: "discovery" is used by another rule of this document
            reason: "never delete repositories"|reason: ""|deny[0].reason: expected: one line
            route: github-mcp\\n    operations: ["mcp:tools/call:delete_repo"]|route: nowhere\\n    operations: ["mcp:tools/call:delete_repo"]|deny[0].route: "nowhere" is not a configured route (expected: one of crm, github-mcp, inventory-grpc, weather, or *)
            after: [pii]|after: [secret]|flows[0].after[0]: "secret" is not a label of any route (expected: one of external, pii, source-code)
            deny: [external]|deny: []|flows[0].deny: missing
            """)
    void everyValidationErrorNamesFileLinePathAndExpectation(String from, String to, String message) throws Exception {
        String yaml = RESEARCH.replace(from.replace("\\n", "\n"), to.replace("\\n", "\n"));
        assertThat(yaml).as("the row's text must be in the document").isNotEqualTo(RESEARCH);
        assertThatThrownBy(() -> load(yaml))
                .isInstanceOf(PolicyException.class)
                .hasMessageStartingWith(dir.resolve("p.yaml") + ":")
                .hasMessageMatching("(?s)[^:]+:\\d+: .*")
                .hasMessageContaining(message);
    }

    @Test
    void errorsFoundAfterReadingNameTheirLine() throws Exception {
        assertThatThrownBy(() -> load(RESEARCH.replace("route: weather", "route: wether")))
                .hasMessageStartingWith(dir.resolve("p.yaml") + ":15: allow[2].route:");
        assertThatThrownBy(() -> load(RESEARCH.replace("after: [pii]", "after: [secret]")))
                .hasMessageStartingWith(dir.resolve("p.yaml") + ":32: flows[0].after[0]:");
    }

    @Test
    void aTooLongConditionIsRefusedAtLoad() {
        String cond = "true" + " && true".repeat(600);
        assertThatThrownBy(() -> load(RESEARCH.replace("'mcp.arguments.repo.startsWith(\"acme/\")'",
                "'" + cond + "'")))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("allow[1].when: CEL: " + cond.length() + " characters (expected: <= 4096)");
    }

    @Test
    void structuralErrors() throws Exception {
        assertThatThrownBy(() -> load("")).hasMessageContaining("empty document");
        assertThatThrownBy(() -> load("kind: Policy\nkind: Policy\n")).hasMessageContaining("Duplicate field 'kind'");
        assertThatThrownBy(() -> load("- a\n- b\n")).hasMessageContaining("(top level)");
        assertThatThrownBy(() -> load("kind: \"unterminated\n")).hasMessageContaining("not valid YAML");
        assertThatThrownBy(() -> load("kind: [Policy]\n")).hasMessageContaining("kind: Cannot deserialize");
        assertThatThrownBy(() -> load(RESEARCH + "---\n" + RESEARCH)).isInstanceOf(PolicyException.class);
        assertThatThrownBy(() -> load("kind: Policy\nname: x\n")).hasMessageContaining("subjects: missing");
        assertThatThrownBy(() -> load(RESEARCH.replace("  - name: weather\n    route: weather\n",
                "  - name: weather\n")))
                .hasMessageContaining("allow[2].route: missing");
        assertThatThrownBy(() -> load(RESEARCH + "  - null\n")).hasMessageContaining("flows[1]: empty");
        assertThatThrownBy(() -> PolicyLoader.load(List.of(dir.resolve("missing.yaml")), ROUTES))
                .hasMessageContaining("missing.yaml: not found");
    }

    @Test
    void twoDocumentsWithOneNameAreRefused() throws Exception {
        write(dir, "d/a.yaml", RESEARCH);
        write(dir, "d/b.yaml", RESEARCH);
        assertThatThrownBy(() -> PolicyLoader.load(List.of(dir.resolve("d")), ROUTES))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("b.yaml:2: name: \"research-agents\" is also the name of the document in")
                .hasMessageContaining("a.yaml");
    }

    @Test
    void oneBadDocumentRefusesTheWholeSet() throws Exception {
        write(dir, "d/a.yaml", RESEARCH);
        write(dir, "d/b.yaml", RESEARCH.replace("name: research-agents", "name: other").replace("kind: Policy",
                "kind: Nope"));
        assertThatThrownBy(() -> PolicyLoader.load(List.of(dir.resolve("d")), ROUTES))
                .hasMessageContaining("b.yaml:1: kind:");
    }

    @Test
    void aDenyRuleMayNameEveryRoute() throws Exception {
        String denyHere = "  - name: no-delete\n    route: github-mcp";
        String allowBoth = "\"mcp:tools/call:search_issues\", \"mcp:tools/call:delete_repo\"";
        assertThat(RESEARCH).contains(denyHere).contains(allowBoth);
        PolicySet set = load(RESEARCH.replace(denyHere, "  - name: no-delete\n    route: \"*\"")
                .replace(allowBoth, "\"mcp:tools/call:search_issues\""));
        // The deny rule holds on every route, github-mcp included.
        assertThat(set.checkGrant(Fixtures.RESEARCHER, "github-mcp", List.of("mcp:tools/call:delete_repo"),
                Duration.ofMinutes(1), 1L).rule()).isEqualTo("research-agents/no-delete");
        assertThat(set.evaluate(Fixtures.toolCall("delete_repo", java.util.Map.of("repo", "acme/x"))).rule())
                .isEqualTo("research-agents/no-delete");
    }
}
