package dev.toolgate.policy;

import static dev.toolgate.policy.Fixtures.RESEARCH;
import static dev.toolgate.policy.Fixtures.RESEARCHER;
import static dev.toolgate.policy.Fixtures.ROUTES;
import static dev.toolgate.policy.Fixtures.STRANGER;
import static dev.toolgate.policy.Fixtures.grpc;
import static dev.toolgate.policy.Fixtures.http;
import static dev.toolgate.policy.Fixtures.mcpMethod;
import static dev.toolgate.policy.Fixtures.toolCall;
import static dev.toolgate.policy.Fixtures.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.common.DecisionCode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicySetTest {
    private static final Map<String, Object> ACME = Map.of("repo", "acme/widgets");
    private static final Set<String> EXTERNAL = Set.of("external");
    private static final Set<String> PII = Set.of("pii");

    @TempDir
    Path dir;

    private PolicySet load(String... docs) throws Exception {
        for (int i = 0; i < docs.length; i++) {
            write(dir, "p/" + i + ".yaml", docs[i]);
        }
        return PolicyLoader.load(List.of(dir.resolve("p")), ROUTES);
    }

    // --- per call

    @Test
    void anArgumentConditionAllowsAndDenies() throws Exception {
        PolicySet set = load(RESEARCH);
        Verdict ok = set.evaluate(toolCall("search_issues", ACME));
        assertThat(ok.allow()).isTrue();
        assertThat(ok.rule()).isEqualTo("research-agents/allow[1]");
        assertThat(ok.rate()).isEqualTo(new RateSpec(5, 10));
        assertThat(ok.approvalRequired()).isFalse();

        Verdict no = set.evaluate(toolCall("search_issues", Map.of("repo", "evil/widgets")));
        assertThat(no.allow()).isFalse();
        assertThat(no.shadow()).isFalse();
        assertThat(no.code()).isEqualTo(DecisionCode.DENY_CONDITION);
        assertThat(no.rule()).isEqualTo("research-agents/allow[1]");
        assertThat(no.reason()).contains("mcp.arguments.repo.startsWith(\"acme/\")");
    }

    @Test
    void aConditionErrorIsThrownNeverAllowed() throws Exception {
        PolicySet set = load(RESEARCH.replace("mcp.arguments.repo.startsWith(\"acme/\")",
                "mcp.arguments.nope.size() > 0"));
        assertThatThrownBy(() -> set.evaluate(toolCall("search_issues", ACME)))
                .isInstanceOf(ConditionException.class)
                .hasMessageContaining("research-agents/allow[1]");
    }

    @Test
    void denyWinsOverAllow() throws Exception {
        PolicySet set = load(RESEARCH);
        // delete_repo is in an allow rule whose condition holds, and in a deny rule.
        Verdict v = set.evaluate(toolCall("delete_repo", ACME));
        assertThat(v.allow()).isFalse();
        assertThat(v.code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(v.rule()).isEqualTo("research-agents/no-delete");
        assertThat(v.reason()).isEqualTo("never delete repositories");
    }

    @Test
    void aDenyRuleWithAConditionDeniesOnlyWhenItHolds() throws Exception {
        String yaml = RESEARCH.replace("    reason: \"never delete repositories\"",
                "    when: 'task.purpose != \"cleanup\"'\n    reason: \"never delete repositories\"");
        assertThat(yaml).isNotEqualTo(RESEARCH);
        PolicySet set = load(yaml);
        assertThat(set.evaluate(toolCall("delete_repo", ACME)).code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(set.evaluate(toolCall("delete_repo", ACME).withPurpose("cleanup")).allow()).isTrue();
    }

    @Test
    void flowRuleDeniesExternalAfterPiiButNotTheOtherWayRound() throws Exception {
        PolicySet set = load(RESEARCH);
        // pii then external: the task touched crm (pii) before; weather is external.
        Verdict afterPii = set.evaluate(http("weather", EXTERNAL, "GET", "/forecast/berlin").withHistory("pii"));
        assertThat(afterPii.allow()).isFalse();
        assertThat(afterPii.code()).isEqualTo(DecisionCode.DENY_FLOW);
        assertThat(afterPii.rule()).isEqualTo("research-agents/no-exfiltration");
        assertThat(afterPii.reason()).isEqualTo("no PII to external tools");
        // external then pii passes.
        assertThat(set.evaluate(http("crm", PII, "GET", "/customers/42").withHistory("external")).allow()).isTrue();
        assertThat(set.evaluate(http("weather", EXTERNAL, "GET", "/forecast/berlin")).allow()).isTrue();
    }

    @Test
    void approvalIsReported() throws Exception {
        Verdict v = load(RESEARCH).evaluate(http("crm", PII, "GET", "/customers/42"));
        assertThat(v.allow()).isTrue();
        assertThat(v.approvalRequired()).isTrue();
        assertThat(v.rule()).isEqualTo("research-agents/crm");
    }

    @Test
    void grpcMethodsAreAllowedOneByOne() throws Exception {
        PolicySet set = load(RESEARCH);
        assertThat(set.evaluate(grpc("demo.Tools", "Search")).allow()).isTrue();
        Verdict other = set.evaluate(grpc("demo.Tools", "Delete"));
        assertThat(other.allow()).isFalse();
        assertThat(other.code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(other.reason()).contains("grpc:demo.Tools/Delete");
    }

    @Test
    void whatNoRuleAllowsIsDenied() throws Exception {
        PolicySet set = load(RESEARCH);
        assertThat(set.evaluate(mcpMethod("tools/list")).allow()).isTrue();
        Verdict v = set.evaluate(mcpMethod("resources/list"));
        assertThat(v.allow()).isFalse();
        assertThat(v.code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(v.rule()).isNull();
        assertThat(set.evaluate(http("weather", EXTERNAL, "POST", "/forecast/x")).allow()).isFalse();
        assertThat(set.evaluate(toolCall("search_issues\nforged", ACME)).reason()).doesNotContain("\n");
    }

    @Test
    void aSubjectNoDocumentAppliesToIsDenied() throws Exception {
        Verdict v = load(RESEARCH).evaluate(http("weather", EXTERNAL, "GET", "/forecast/x").withAgent(STRANGER));
        assertThat(v.allow()).isFalse();
        assertThat(v.code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(v.reason()).contains("no policy document applies to spiffe://acme.dev/agents/sales/s1");
    }

    @Test
    void emptyDeniesEverythingAndUnrestrictedAllowsEverything() throws Exception {
        Fixtures.Facts call = http("weather", EXTERNAL, "GET", "/forecast/x");
        assertThat(PolicySet.empty().evaluate(call).allow()).isFalse();
        assertThat(PolicySet.empty().checkGrant(RESEARCHER, "weather", List.of("GET /**"), Duration.ofMinutes(1),
                null).allow()).isFalse();
        assertThat(PolicySet.unrestricted().evaluate(call.withHistory("pii")).allow()).isTrue();
        assertThat(PolicySet.unrestricted().checkGrant(RESEARCHER, "weather", List.of("GET /**"), Duration.ofDays(9),
                null).allow()).isTrue();
        assertThat(PolicySet.unrestricted().isUnrestricted()).isTrue();
        assertThat(PolicySet.empty().isUnrestricted()).isFalse();
        assertThat(PolicySet.unrestricted().version()).isEqualTo("unrestricted");
    }

    // --- shadow mode

    private static final String SHADOW_TIGHTENING = """
            kind: Policy
            name: tighter
            mode: shadow
            subjects: ["spiffe://acme.dev/agents/**"]
            deny:
              - route: weather
                operations: ["GET /forecast/**"]
                reason: "weather is going away"
            """;

    @Test
    void aShadowDenialIsFlaggedAndForwarded() throws Exception {
        PolicySet set = load(RESEARCH, SHADOW_TIGHTENING);
        Verdict v = set.evaluate(http("weather", EXTERNAL, "GET", "/forecast/x"));
        assertThat(v.allow()).isFalse();
        assertThat(v.shadow()).isTrue();
        assertThat(v.forwards()).isTrue();
        assertThat(v.code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(v.rule()).isEqualTo("tighter/deny[0]");
        // An enforced denial stays enforced.
        Verdict enforced = set.evaluate(toolCall("delete_repo", ACME));
        assertThat(enforced.shadow()).isFalse();
        assertThat(enforced.forwards()).isFalse();
        // What neither denies is simply allowed.
        assertThat(set.evaluate(grpc("demo.Tools", "Search")).shadow()).isFalse();
        assertThat(set.evaluate(grpc("demo.Tools", "Search")).allow()).isTrue();
    }

    @Test
    void aSubjectOnlyShadowDocumentsCoverIsForwardedWithWouldDeny() throws Exception {
        PolicySet set = load(RESEARCH, SHADOW_TIGHTENING);
        Verdict v = set.evaluate(http("weather", EXTERNAL, "GET", "/forecast/x").withAgent(STRANGER));
        assertThat(v.shadow()).isTrue();
        assertThat(v.forwards()).isTrue();
        // The shadow document allows nothing, so every call of the stranger would be denied, yet goes on.
        Verdict crm = set.evaluate(http("crm", PII, "GET", "/customers/1").withAgent(STRANGER));
        assertThat(crm.shadow()).isTrue();
        assertThat(crm.code()).isEqualTo(DecisionCode.DENY_POLICY);
    }

    @Test
    void aShadowConditionErrorIsAWouldDenyNotABlock() throws Exception {
        PolicySet set = load(RESEARCH,
                SHADOW_TIGHTENING.replace("reason:", "when: 'mcp.arguments.x == 1'\n    reason:"));
        Verdict v = set.evaluate(http("weather", EXTERNAL, "GET", "/forecast/x"));
        assertThat(v.shadow()).isTrue();
        assertThat(v.code()).isEqualTo(DecisionCode.ERROR_FAIL_CLOSED);
    }

    @Test
    void aShadowFlowRuleIsFlagged() throws Exception {
        String shadowFlow = """
                kind: Policy
                name: flow-trial
                mode: shadow
                subjects: ["spiffe://acme.dev/agents/**"]
                flows:
                  - after: [source-code]
                    deny: [external]
                """;
        Verdict v = load(RESEARCH, shadowFlow).evaluate(http("weather", EXTERNAL, "GET", "/forecast/x")
                .withHistory("source-code"));
        assertThat(v.shadow()).isTrue();
        assertThat(v.code()).isEqualTo(DecisionCode.DENY_FLOW);
        assertThat(v.reason()).contains("flow rule flow-trial/flows[0]");
    }

    // --- grants at task start

    @Test
    void aGrantWithinAnAllowRuleIsAllowed() throws Exception {
        PolicySet set = load(RESEARCH);
        Verdict v = set.checkGrant(RESEARCHER, "github-mcp", List.of("mcp:tools/call:search_issues"),
                Duration.ofMinutes(30), 100L);
        assertThat(v.allow()).isTrue();
        assertThat(v.rule()).isEqualTo("research-agents/allow[1]");
        assertThat(set.checkGrant(RESEARCHER, "weather", List.of("GET /forecast/berlin/*", "GET /forecast/**"),
                Duration.ofMinutes(5), null).allow()).isTrue();
    }

    @Test
    void aGrantOutsideTheOperationsIsRefused() throws Exception {
        PolicySet set = load(RESEARCH);
        Verdict v = set.checkGrant(RESEARCHER, "weather", List.of("GET /**"), Duration.ofMinutes(5), null);
        assertThat(v.allow()).isFalse();
        assertThat(v.code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(v.reason()).contains("outside every allow rule");
        assertThat(set.checkGrant(RESEARCHER, "github-mcp", List.of("mcp:tools/call:*"), Duration.ofMinutes(5),
                10L).allow()).isFalse();
        assertThat(set.checkGrant(RESEARCHER, "weather", List.of("GET /forecast/x", "POST /forecast/x"),
                Duration.ofMinutes(5), null).allow()).isFalse();
        assertThat(set.checkGrant(RESEARCHER, "nowhere", List.of("GET /x"), Duration.ofMinutes(5), null).allow())
                .isFalse();
        assertThat(set.checkGrant(RESEARCHER, "weather", List.of("not an operation"), Duration.ofMinutes(5), null)
                .reason()).contains("operation \"not an operation\"");
        assertThat(set.checkGrant(RESEARCHER, "weather", List.of(), Duration.ofMinutes(5), null).allow()).isFalse();
    }

    @Test
    void aGrantLongerThanMaxTtlIsRefused() throws Exception {
        PolicySet set = load(RESEARCH);
        Verdict v = set.checkGrant(RESEARCHER, "weather", List.of("GET /forecast/x"), Duration.ofHours(2), null);
        assertThat(v.allow()).isFalse();
        assertThat(v.reason()).isEqualTo("ttl PT2H is longer than maxTtl PT1H of rule research-agents/weather");
        assertThat(v.rule()).isEqualTo("research-agents/weather");
        assertThat(set.maxTtl(RESEARCHER, "weather", List.of("GET /forecast/x"))).isEqualTo(Duration.ofHours(1));
        assertThat(set.maxTtl(RESEARCHER, "crm", List.of("GET /customers/1"))).isNull();
        assertThat(PolicySet.unrestricted().maxTtl(RESEARCHER, "crm", List.of("GET /customers/1"))).isNull();
    }

    @Test
    void aGrantWithTooLargeABudgetIsRefused() throws Exception {
        PolicySet set = load(RESEARCH);
        List<String> ops = List.of("mcp:tools/call:search_issues");
        assertThat(set.checkGrant(RESEARCHER, "github-mcp", ops, Duration.ofMinutes(5), 101L).reason())
                .isEqualTo("budget 101 is more than budget 100 of rule research-agents/allow[1]");
        assertThat(set.checkGrant(RESEARCHER, "github-mcp", ops, Duration.ofMinutes(5), null).reason())
                .isEqualTo("budget unlimited is more than budget 100 of rule research-agents/allow[1]");
        assertThat(set.checkGrant(RESEARCHER, "github-mcp", ops, Duration.ofMinutes(5), 100L).allow()).isTrue();
    }

    @Test
    void aGrantForAnUnmatchedSubjectIsRefused() throws Exception {
        Verdict v = load(RESEARCH).checkGrant(STRANGER, "weather", List.of("GET /forecast/x"), Duration.ofMinutes(1),
                null);
        assertThat(v.allow()).isFalse();
        assertThat(v.reason()).contains("no policy document applies to " + STRANGER.uri());
    }

    @Test
    void aGrantOfAnOperationAnUnconditionalDenyRuleHoldsIsRefused() throws Exception {
        PolicySet set = load(RESEARCH);
        Verdict v = set.checkGrant(RESEARCHER, "github-mcp", List.of("mcp:tools/call:delete_repo"),
                Duration.ofMinutes(5), 10L);
        assertThat(v.allow()).isFalse();
        assertThat(v.rule()).isEqualTo("research-agents/no-delete");
        assertThat(v.reason()).contains("never delete repositories");
    }

    @Test
    void aShadowDocumentOnlyFlagsAGrant() throws Exception {
        PolicySet set = load(RESEARCH, SHADOW_TIGHTENING);
        Verdict v = set.checkGrant(RESEARCHER, "weather", List.of("GET /forecast/x"), Duration.ofMinutes(5), null);
        assertThat(v.shadow()).isTrue();
        assertThat(v.forwards()).isTrue();
        assertThat(v.rule()).isEqualTo("tighter/deny[0]");
    }

    @Test
    void rulesOfSeveralDocumentsAdd() throws Exception {
        String more = """
                kind: Policy
                name: more
                subjects: ["spiffe://acme.dev/agents/research/r1"]
                allow:
                  - route: weather
                    operations: ["POST /forecast/**"]
                """;
        PolicySet set = load(RESEARCH, more);
        assertThat(set.documents()).containsExactly("more", "research-agents");
        assertThat(set.evaluate(http("weather", EXTERNAL, "POST", "/forecast/x")).rule()).isEqualTo("more/allow[0]");
        assertThat(set.evaluate(http("weather", EXTERNAL, "GET", "/forecast/x")).rule())
                .isEqualTo("research-agents/weather");
        // The deny rule of research-agents still wins for r1.
        assertThat(set.evaluate(toolCall("delete_repo", ACME)).allow()).isFalse();
    }
}
