package dev.toolgate.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo a newcomer runs first: a task is started, granted calls pass, ungranted, stolen, hostile and impossible
 * ones are stopped and say why, and ending the task stops the next call.
 */
class DemoTest {
    @TempDir
    Path dir;

    @Test
    void showsForwardedAndBlockedCallsAndWhatReachedTheTool() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        List<ScriptedAgent.Outcome> outcomes = new Demo(new PrintStream(buf, true, StandardCharsets.UTF_8))
                .run(dir, false);
        String out = buf.toString(StandardCharsets.UTF_8);

        assertThat(outcomes).extracting(ScriptedAgent.Outcome::status).containsExactly(
                "OK", "200", "200", "403", "200", "200", "200", "403", "403", "404", "400", "-", "200", "403", "OK",
                "403");
        assertThat(outcomes.get(0).protocol()).isEqualTo("gRPC");
        assertThat(outcomes.get(0).result()).startsWith("task t-").contains("started");
        assertThat(outcomes.get(2).protocol()).isEqualTo("HTTP/2");
        assertThat(outcomes.get(3).result()).contains("DENY_NO_GRANT").contains("GET /v1/alerts");
        // The MCP server lists three tools; the route filters tools/list to the one the task may call.
        assertThat(outcomes.get(4).result()).contains("[search_issues]");
        assertThat(outcomes.get(5).result()).startsWith("forwarded").contains("3 open issues in acme/api");
        assertThat(outcomes.get(6).result()).startsWith("blocked: DENY_CONDITION").contains("JSON-RPC error -32001");
        assertThat(outcomes.get(7).result()).contains("DENY_NO_TASK");
        assertThat(outcomes.get(8).result()).contains("DENY_IDENTITY_MISMATCH").contains("mail-sorter");
        assertThat(outcomes.get(9).result()).contains("DENY_POLICY").contains("/admin/keys");
        assertThat(outcomes.get(10).result()).contains("DENY_MALFORMED").contains("encoded slash");
        assertThat(outcomes.get(11).result()).startsWith("refused at the TLS handshake");
        assertThat(outcomes.get(12).result()).startsWith("forwarded").contains("Kari");
        assertThat(outcomes.get(13).result()).contains("DENY_FLOW").contains("personal data");
        assertThat(outcomes.get(14).protocol()).isEqualTo("gRPC");
        assertThat(outcomes.get(14).result()).contains("ended");
        assertThat(outcomes.get(15).result()).contains("DENY_TASK_ENDED");
        // Only the granted calls reached the tools, without the agent's own credential or its task token.
        String reached = out.substring(out.indexOf("What reached the tools"), out.indexOf("Audit trail"));
        assertThat(reached).contains("GET /v1/forecast?city=Oslo").contains("GET /v1/forecast?city=Bergen")
                .contains("search_issues {\"repo\":\"acme/api\"}").contains("GET /crm/customers/42")
                .doesNotContain("alerts").doesNotContain("evil").doesNotContain("admin")
                .doesNotContain("Authorization").doesNotContain("tg1.")
                .contains("x-api-key: " + Demo.WEATHER_API_KEY);
        // The audit trail: the task's start and end, a decision for every call that reached the sidecar, outcomes
        // for allowed ones, and a hash chain that verifies.
        String audit = out.substring(out.indexOf("Audit trail"), out.indexOf("Note:"));
        assertThat(audit).contains("start t-").contains("end t-").contains("DENY_NO_GRANT")
                .contains("mcp:tools/call:search_issues").contains("DENY_CONDITION").contains("DENY_FLOW")
                .contains("DENY_IDENTITY_MISMATCH").contains("DENY_TASK_ENDED").contains("DENY_POLICY")
                .contains("DENY_MALFORMED").contains("200 completed")
                .contains("mcp:tools/list").contains("verify: ok: 21 records, chain intact");
        // The certificate refused at the handshake is audited too, with no agent: its ID was not verified.
        assertThat(audit.lines().filter(l -> l.contains("TLS handshake"))).singleElement().asString()
                .contains("deny").contains("DENY_NO_IDENTITY").doesNotContain("travel-planner");
        // Every call's record names who made it: the travel planner, and the mail sorter replaying its token.
        List<String> decisionRows = audit.lines().filter(l -> l.startsWith("  decision"))
                .filter(l -> !l.contains("TLS handshake")).toList();
        assertThat(decisionRows).hasSize(13).allSatisfy(l -> assertThat(l).containsAnyOf("travel-planner",
                "mail-sorter"));
        assertThat(decisionRows).filteredOn(l -> l.contains("DENY_IDENTITY_MISMATCH")).singleElement()
                .asString().contains("mail-sorter");
        assertThat(dir.resolve("audit/audit.jsonl")).exists();
    }
}
