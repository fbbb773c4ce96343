package dev.toolgate.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo a newcomer runs first: allowed calls pass, hostile and impossible ones are stopped and say why. */
class DemoTest {
    @TempDir
    Path dir;

    @Test
    void showsForwardedAndBlockedCallsAndWhatReachedTheTool() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        List<ScriptedAgent.Outcome> outcomes = new Demo(new PrintStream(buf, true, StandardCharsets.UTF_8))
                .run(dir, false);
        String out = buf.toString(StandardCharsets.UTF_8);

        assertThat(outcomes).extracting(ScriptedAgent.Outcome::status)
                .containsExactly("200", "200", "404", "400", "502", "-");
        assertThat(outcomes.get(1).protocol()).isEqualTo("HTTP/2");
        assertThat(outcomes.get(2).result()).contains("no_route").contains("/admin/keys");
        assertThat(outcomes.get(3).result()).contains("encoded slash");
        assertThat(outcomes.get(4).result()).contains("upstream_connect_failed");
        assertThat(outcomes.get(5).result()).startsWith("refused at the TLS handshake");
        // Only the two allowed calls reached the tool, and without the agent's own credential.
        String reached = out.substring(out.indexOf("What reached the weather tool"), out.indexOf("Audit trail"));
        assertThat(reached).contains("GET /v1/forecast?city=Oslo").contains("GET /v1/forecast?city=Bergen")
                .doesNotContain("admin").doesNotContain("Authorization");
        // The audit trail: a decision for every call that reached the sidecar, outcomes for allowed ones, and a
        // hash chain that verifies.
        String audit = out.substring(out.indexOf("Audit trail"), out.indexOf("Note:"));
        assertThat(audit).contains("DENY_POLICY").contains("DENY_MALFORMED").contains("200 completed")
                .contains("upstream_connect_failed").contains("verify: ok: 8 records, chain intact");
        assertThat(dir.resolve("audit/audit.jsonl")).exists();
    }
}
