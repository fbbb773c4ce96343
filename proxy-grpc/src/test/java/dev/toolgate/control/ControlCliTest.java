package dev.toolgate.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.cli.Main;
import dev.toolgate.identity.SpiffeId;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The CLI against a real sidecar over its control port (mTLS with the SVID files {@code dev-ca issue} writes):
 * {@code task start} gives a token the data plane accepts, {@code task end} makes the next call fail, and
 * {@code tail --json} shows both decision records exactly as the audit file has them.
 */
class ControlCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SpiffeId CLI_AGENT = SpiffeId.parse("spiffe://toolgate.test/agents/cli");

    @TempDir
    static Path dir;
    static ControlFixture f;
    static Path agentFiles;
    static Path adminFiles;

    @BeforeAll
    static void start() throws Exception {
        f = ControlFixture.start(dir);
        agentFiles = f.pki.files(CLI_AGENT);
        adminFiles = f.pki.files(ControlFixture.ADMIN);
    }

    @AfterAll
    static void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    /** One CLI run: exit code, stdout, stderr. */
    record Run(int exit, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    static Run toolgate(Path svidDir, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        if (svidDir != null) {
            all.addAll(List.of("--control", "127.0.0.1:" + f.control.port(), "--svid-dir", svidDir.toString()));
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void startCallEndCallAndTailTheTwoDecisions() throws Exception {
        int before = f.control.tailSubscribers();
        CompletableFuture<Run> tail = CompletableFuture.supplyAsync(() -> toolgate(adminFiles, "tail", "--json",
                "--agent", CLI_AGENT.uri(), "--phase", "decision", "--count", "2", "--for", "30s"));
        AuditServiceTest.await(f.control::tailSubscribers, before + 1);

        Run started = toolgate(agentFiles, "task", "start", "--purpose", "weekend in Oslo", "--ttl", "10m",
                "--grant", "route=weather,op=GET /forecast/*,budget=5");
        assertThat(started.exit()).as(started.err()).isZero();
        List<String> lines = started.lines();
        assertThat(lines.get(0)).matches("task t-[0-9a-f]{24}  active  agent " + CLI_AGENT.uri() + "  expires .*");
        assertThat(lines).contains("  purpose: weekend in Oslo", "  g1  weather  GET /forecast/*  active  budget 5/5 left");
        String token = lines.get(lines.size() - 1);
        assertThat(token).startsWith("tg1.");
        String taskId = lines.get(0).split(" ")[1];

        assertThat(f.call(CLI_AGENT, "/api/weather/forecast/oslo", token).statusCode()).isEqualTo(200);

        Run list = toolgate(agentFiles, "task", "list", "--state", "active");
        assertThat(list.exit()).isZero();
        assertThat(list.lines().get(0)).startsWith("TASK").contains("STATE", "EXPIRES", "AGENT", "PURPOSE");
        assertThat(list.lines()).anySatisfy(l -> assertThat(l).startsWith(taskId).contains("active",
                CLI_AGENT.uri(), "weekend in Oslo"));

        Run ended = toolgate(agentFiles, "task", "end", taskId, "--reason", "trip planned");
        assertThat(ended.exit()).as(ended.err()).isZero();
        assertThat(ended.lines().get(0)).startsWith("task " + taskId + "  ended");

        HttpResponse<String> denied = f.call(CLI_AGENT, "/api/weather/forecast/oslo", token);
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(denied.body()).path("code").asText()).isEqualTo("DENY_TASK_ENDED");

        Run tailed = tail.get(30, TimeUnit.SECONDS);
        assertThat(tailed.exit()).as(tailed.err()).isZero();
        List<String> records = tailed.lines();
        assertThat(records).hasSize(2);
        List<JsonNode> parsed = new ArrayList<>();
        for (String r : records) {
            parsed.add(JSON.readTree(r));
        }
        assertThat(parsed).extracting(j -> j.path("code").asText()).containsExactly("ALLOW", "DENY_TASK_ENDED");
        assertThat(parsed).allSatisfy(j -> {
            assertThat(j.path("phase").asText()).isEqualTo("decision");
            assertThat(j.path("task_id").asText()).isEqualTo(taskId);
            assertThat(j.path("agent").asText()).isEqualTo(CLI_AGENT.uri());
        });
        // Exactly the audit file's lines (hash chain included), and the token is in neither.
        assertThat(f.auditLines()).containsAll(records);
        assertThat(tailed.out()).doesNotContain(token);
    }

    @Test
    void tokenOnlyPrintsJustTheToken() {
        Run r = toolgate(agentFiles, "task", "start", "--purpose", "scripted", "--grant",
                "route=weather,op=GET /forecast/*,op=GET /alerts,ttl=5m", "--token-only");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.lines()).hasSize(1);
        assertThat(r.lines().get(0)).startsWith("tg1.");
    }

    @Test
    void refusalsPrintTheStatusAndExit1_localProblemsExit2() {
        Run noSuchTask = toolgate(agentFiles, "task", "end", "t-000000000000000000000000");
        assertThat(noSuchTask.exit()).isEqualTo(1);
        assertThat(noSuchTask.err()).isEqualTo("toolgate task end: NOT_FOUND: no task t-000000000000000000000000\n");

        Run notAdmin = toolgate(agentFiles, "tail", "--count", "1");
        assertThat(notAdmin.exit()).isEqualTo(1);
        assertThat(notAdmin.err()).startsWith("toolgate tail: PERMISSION_DENIED: " + CLI_AGENT.uri());

        Run unknownRoute = toolgate(agentFiles, "task", "start", "--purpose", "p", "--grant", "route=mail,op=GET /x");
        assertThat(unknownRoute.exit()).isEqualTo(1);
        assertThat(unknownRoute.err()).startsWith("toolgate task start: INVALID_ARGUMENT: grants[0].route: \"mail\"");

        Run badGrant = toolgate(agentFiles, "task", "start", "--purpose", "p", "--grant", "route=weather,budget=x");
        assertThat(badGrant.exit()).isEqualTo(2);
        assertThat(badGrant.err()).startsWith("toolgate task start: --grant \"route=weather,budget=x\": budget \"x\"");

        Run noFiles = toolgate(dir.resolve("nowhere"), "task", "list");
        assertThat(noFiles.exit()).isEqualTo(2);
        assertThat(noFiles.err()).startsWith("toolgate task list: ").contains("svid.pem");

        Run nobodyThere = toolgate(null, "task", "list", "--control", "127.0.0.1:1", "--svid-dir",
                agentFiles.toString());
        assertThat(nobodyThere.exit()).isEqualTo(1);
        assertThat(nobodyThere.err()).startsWith("toolgate task list: UNAVAILABLE")
                .contains("is a sidecar serving its control API on 127.0.0.1:1?");
    }

    @Test
    void serverIdVerifiesTheSidecarBySpiffeId() {
        Run right = toolgate(agentFiles, "task", "list", "--server-id", "spiffe://toolgate.test/toolgate/sidecar");
        assertThat(right.exit()).as(right.err()).isZero();
        Run wrong = toolgate(agentFiles, "task", "list", "--server-id", "spiffe://toolgate.test/toolgate/impostor");
        assertThat(wrong.exit()).isEqualTo(1);
        assertThat(wrong.err()).startsWith("toolgate task list: UNAVAILABLE");
    }

    @Test
    void everyCommandHasHelp_andCompletionPrintsABashScript() {
        for (String[] cmd : List.of(new String[] {"task", "--help"}, new String[] {"task", "start", "--help"},
                new String[] {"task", "delegate", "--help"}, new String[] {"task", "list", "--help"},
                new String[] {"tail", "--help"}, new String[] {"completion", "--help"},
                new String[] {"approvals", "--help"}, new String[] {"approvals", "list", "--help"},
                new String[] {"approvals", "approve", "--help"}, new String[] {"approvals", "deny", "--help"})) {
            Run r = toolgate(null, cmd);
            assertThat(r.exit()).as(String.join(" ", cmd)).isZero();
            assertThat(r.out()).startsWith("Usage: toolgate " + cmd[0]);
        }
        assertThat(toolgate(null, "task", "start", "--help").out()).contains("--grant", "--token-only", "--control",
                "--svid-dir");
        assertThat(toolgate(null, "approvals", "deny", "--help").out()).contains("APPROVAL_ID", "--reason",
                "--control", "--svid-dir", "--server-id");
        Run completion = toolgate(null, "completion");
        assertThat(completion.exit()).isZero();
        assertThat(completion.out()).contains("complete -F", "toolgate", "delegate", "--svid-dir", "approvals",
                "approve");
    }
}
