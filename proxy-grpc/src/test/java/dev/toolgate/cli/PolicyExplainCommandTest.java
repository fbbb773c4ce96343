package dev.toolgate.cli;

import static dev.toolgate.cli.PolicyTestCommandTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.cli.PolicyTestCommandTest.Run;
import org.junit.jupiter.api.Test;

/**
 * {@code toolgate policy explain} through the real command line on the shipped example routes and policy: the
 * decision, the rules that matched with their conditions, and the values seen, MCP arguments redacted as the audit
 * records them.
 */
class PolicyExplainCommandTest {
    private static final String[] BASE = {"policy", "explain", "--routes", "../config/routes", "--policy",
        "../config/policies/example.yaml", "--caller", "spiffe://toolgate.dev/agents/research/r1"};

    private static Run explain(String... args) {
        String[] all = new String[BASE.length + args.length];
        System.arraycopy(BASE, 0, all, 0, BASE.length);
        System.arraycopy(args, 0, all, BASE.length, args.length);
        return run(all);
    }

    @Test
    void aFailedConditionIsShownWithTheValuesItSawRedactedAsTheAuditRecordsThem() {
        Run r = explain("--grant", "route=github-mcp,op=mcp:tools/call:get_issue,budget=5", "--route", "github-mcp",
                "--operation", "mcp:tools/call:get_issue", "--arguments",
                "{\"repo\":\"evil/widgets\",\"query\":\"see ACME-123456\",\"token\":\"s3cr3t\"}");

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("call:      mcp:tools/call:get_issue on route github-mcp\n"
                + "decision:  DENY_CONDITION by rule research-agents/github-read-acme\n");
        assertThat(r.out()).contains("rules that matched the call, in the order they were looked at:\n"
                + "  allow research-agents/github-read-acme: when has(mcp.arguments.repo) &&"
                + " mcp.arguments.repo.startsWith(\"acme/\") -> does not hold\n");
        assertThat(r.out()).contains("values the conditions saw:\n")
                .contains("repo=evil/widgets").contains("[REDACTED]").contains("3 in all, args_digest ")
                .doesNotContain("s3cr3t").doesNotContain("ACME-123456");
        assertThat(r.out()).containsPattern("  task = \\{.*purpose=policy explain.*\\}");
    }

    @Test
    void aFlowRuleThatFiredIsNamedWithTheTaskHistory() {
        Run r = explain("--grant", "route=weather,op=GET /forecast/**", "--labels", "pii", "--calls", "4",
                "--route", "weather", "--operation", "GET /forecast/oslo");

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("decision:  DENY_FLOW by rule research-agents/no-pii-exfiltration\n")
                .contains("  flow  research-agents/no-pii-exfiltration: fired")
                .containsPattern("labels=\\[pii\\]").contains("calls=4");
    }

    @Test
    void anAllowedCallExitsZeroAndADecisionBeforeThePolicySaysSo() {
        Run allowed = explain("--grant", "route=weather,op=GET /forecast/**", "--route", "weather",
                "--operation", "GET /forecast/oslo");
        assertThat(allowed.out()).contains("decision:  ALLOW by rule research-agents/weather\n")
                .contains("  allow research-agents/weather: no condition\n");
        assertThat(allowed.exit()).isZero();

        Run noGrant = explain("--grant", "route=weather,op=GET /forecast/**", "--method", "GET", "--target",
                "/api/weather/alerts");
        assertThat(noGrant.out()).contains("decision:  DENY_NO_GRANT\n")
                .contains("policy:    not consulted (the decision came before it)\n");
        assertThat(noGrant.exit()).isEqualTo(1);
    }

    @Test
    void aCallThatCannotBeBuiltCannotRun() {
        Run r = explain("--route", "nowhere", "--operation", "GET /x");

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("\"nowhere\" is not a configured route");
    }
}
