package dev.toolgate.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.AuditVerifier;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.control.ControlServer;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.JdkSslContexts;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.proxy.ProxyServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;

/**
 * Runs the demo: dev CA, the weather tool, the sidecar on the embedded demo configuration, and a scripted agent.
 * Prints each call with its outcome, then what actually reached the tool.
 */
public final class Demo {
    static final SpiffeId AGENT = SpiffeId.parse("spiffe://demo.toolgate.dev/agents/travel-planner");
    static final SpiffeId OTHER_AGENT = SpiffeId.parse("spiffe://demo.toolgate.dev/agents/mail-sorter");
    static final String TASK_HEADER = "toolgate-task";
    /** The weather tool's API key: in a file only the sidecar reads; the agent never sees it. */
    static final String WEATHER_API_KEY = "demo-weather-key-7f3a";
    /** The task the demo agent asks for: forecasts from the weather tool, at most 5 calls, 10 minutes. */
    static final String START_TASK = "{\"purpose\":\"plan a weekend trip to Oslo\",\"ttl\":\"10m\","
            + "\"grants\":[{\"route\":\"weather\",\"operations\":[\"GET /v1/forecast\"],\"budget\":5},"
            + "{\"route\":\"github-mcp\",\"operations\":[\"mcp:tools/call:search_issues\"]},"
            + "{\"route\":\"crm\",\"operations\":[\"GET /customers/*\"]}]}";

    static final String TOOLS_LIST = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}";

    static String searchIssues(String repo) {
        return "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues\","
                + "\"arguments\":{\"repo\":\"" + repo + "\"}}}";
    }
    static final SpiffeId INTRUDER_CA_AGENT = SpiffeId.parse("spiffe://demo.toolgate.dev/agents/impostor");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;

    public Demo(PrintStream out) {
        this.out = out;
    }

    /**
     * Runs the scripted session; returns the outcomes (also printed). If {@code hold} is set the sidecar keeps
     * serving until the process is stopped, for trying it with curl.
     */
    public List<ScriptedAgent.Outcome> run(Path stateDir, boolean hold) throws Exception {
        try (DemoTool weather = new DemoTool()) {
            SidecarConfig config = ConfigLoader.load(writeConfig(stateDir, weather.url()));
            DevCa ca = DevCa.openOrCreate(config.identity().stateDir(), config.identity().trustDomain());
            TlsMaterial tls = TlsMaterial.of(ca.issue(SpiffeId.parse(config.identity().spiffeId())), ca.bundles());
            Path auditFile = config.audit().file();
            AuditTrail audit = AuditTrail.open(config.audit());
            List<String> auditLines = new CopyOnWriteArrayList<>();
            audit.subscribe(auditLines::add);
            try (audit; ProxyServer sidecar = ProxyServer.builder(config).tls(tls).audit(audit).workerThreads(1)
                         .build();
                 ControlServer control = ControlServer.start(sidecar);
                 DemoControl agentControl = new DemoControl(control.port(), TlsMaterial.of(ca.issue(AGENT),
                         ca.bundles()).upstreamContext(tls.svid().id(), true))) {
                out.println("toolgate demo");
                out.printf("  sidecar  https://127.0.0.1:%d  as %s; control API (gRPC) on 127.0.0.1:%d%n",
                        sidecar.port(), tls.svid().id(), control.port());
                out.printf("  tools    at %s: weather API (route /api/weather, external), CRM (/api/crm, pii),%n"
                        + "           MCP server (/mcp/github)%n", weather.url());
                out.printf("  agent    %s  (X.509-SVID from the dev CA in %s)%n%n", AGENT, ca.trustDomain());

                SSLContext agentTls = JdkSslContexts.client(ca.issue(AGENT), ca.bundles());
                SSLContext otherAgentTls = JdkSslContexts.client(ca.issue(OTHER_AGENT), ca.bundles());
                DevCa otherCa = DevCa.openOrCreate(stateDir.resolve("impostor-ca"), ca.trustDomain());
                SSLContext impostorTls = JdkSslContexts.client(otherCa.issue(INTRUDER_CA_AGENT), ca.bundles());
                ScriptedAgent agent = new ScriptedAgent(sidecar.port());
                List<ScriptedAgent.Outcome> outcomes = new ArrayList<>();
                HttpClient.Version h1 = HttpClient.Version.HTTP_1_1;

                DemoControl.Started started = agentControl.startTask();
                outcomes.add(started.outcome());
                if (started.token() == null) {
                    print(outcomes);
                    throw new IllegalStateException("the demo could not start its task: " + started.outcome());
                }
                String token = started.token();
                String taskId = started.taskId();
                outcomes.add(agent.call(agentTls, h1, "GET /api/weather/v1/forecast?city=Oslo",
                        "/api/weather/v1/forecast?city=Oslo", TASK_HEADER, token,
                        "Authorization", "Bearer agent-held-secret"));
                outcomes.add(agent.call(agentTls, HttpClient.Version.HTTP_2, "GET /api/weather/v1/forecast?city=Bergen",
                        "/api/weather/v1/forecast?city=Bergen", TASK_HEADER, token));
                outcomes.add(agent.call(agentTls, h1, "GET /api/weather/v1/alerts  (not granted)",
                        "/api/weather/v1/alerts", TASK_HEADER, token));
                outcomes.add(agent.send(agentTls, h1, "POST", "MCP tools/list (filtered to the task's tools)",
                        "/mcp/github", TOOLS_LIST, TASK_HEADER, token).outcome());
                outcomes.add(agent.send(agentTls, h1, "POST", "MCP tools/call search_issues acme/api",
                        "/mcp/github", searchIssues("acme/api"), TASK_HEADER, token).outcome());
                outcomes.add(agent.send(agentTls, h1, "POST", "MCP tools/call search_issues evil/api",
                        "/mcp/github", searchIssues("evil/api"), TASK_HEADER, token).outcome());
                outcomes.add(agent.call(agentTls, h1, "GET /api/weather/v1/forecast  (no task token)",
                        "/api/weather/v1/forecast"));
                outcomes.add(agent.call(otherAgentTls, h1, "same token from another agent's SVID",
                        "/api/weather/v1/forecast?city=Oslo", TASK_HEADER, token));
                outcomes.add(agent.call(agentTls, h1, "GET /api/weather/../../admin/keys",
                        "/api/weather/../../admin/keys", TASK_HEADER, token));
                outcomes.add(agent.call(agentTls, h1, "GET /api/weather/%2e%2e%2fadmin",
                        "/api/weather/%2e%2e%2fadmin", TASK_HEADER, token));
                outcomes.add(agent.call(impostorTls, h1, "GET /api/weather/v1/forecast (SVID from another CA)",
                        "/api/weather/v1/forecast", TASK_HEADER, token));
                outcomes.add(agent.call(agentTls, h1, "GET /api/crm/customers/42  (personal data)",
                        "/api/crm/customers/42", TASK_HEADER, token));
                outcomes.add(agent.call(agentTls, h1, "GET /api/weather/v1/forecast  (after the pii)",
                        "/api/weather/v1/forecast?city=Bergen", TASK_HEADER, token));
                outcomes.add(agentControl.endTask(taskId, "trip planned"));
                outcomes.add(agent.call(agentTls, h1, "GET /api/weather/v1/forecast  (after the end)",
                        "/api/weather/v1/forecast?city=Oslo", TASK_HEADER, token));
                print(outcomes);

                out.println();
                out.println("What reached the tools (everything else was stopped at the sidecar):");
                for (String r : weather.received) {
                    out.println("  " + r);
                }
                out.println();
                printAudit(audit, auditLines, auditFile);
                out.println();
                out.println("Note: the weather tool got its API key from the sidecar; the task token and the agent's own");
                out.println("Authorization header never reached a tool. Every call was checked against the task's grants");
                out.println("and the policy (" + config.policies() + "): MCP calls tool by tool with their arguments, and");
                out.println("the flow rule closed external tools once the task had read personal data.");
                if (hold) {
                    Path files = ca.issueTo(AGENT, stateDir.resolve("agent"));
                    out.printf("%nSidecar stays up. Try the task flow with curl:%n%s",
                            curlHowTo(files, sidecar.port()));
                    Thread.currentThread().join();
                }
                return outcomes;
            }
        }
    }

    /** Shell lines that start a task, call through it and end it (printed by {@code demo --hold}). */
    static String curlHowTo(Path files, int port) {
        String json = "sed 's/.*\"%s\":\"\\([^\"]*\\)\".*/\\1/' task.json";
        return "  C=\"--cacert " + files.resolve("bundle.pem") + " --cert " + files.resolve("svid.pem") + " --key "
                + files.resolve("svid.key") + "\"\n"
                + "  S=https://127.0.0.1:" + port + "\n"
                + "  curl -s $C -X POST $S/_toolgate/v1/tasks -d '" + START_TASK + "' | tee task.json; echo\n"
                + "  T=$(" + String.format(json, "token") + "); ID=$(" + String.format(json, "task_id") + ")\n"
                + "  curl -s $C -H \"toolgate-task: $T\" \"$S/api/weather/v1/forecast?city=Oslo\"   # forwarded\n"
                + "  curl -s $C -H \"toolgate-task: $T\" $S/api/weather/v1/alerts               # 403 DENY_NO_GRANT\n"
                + "  curl -s $C -X DELETE $S/_toolgate/v1/tasks/$ID                            # ends the task\n"
                + "  curl -s $C -H \"toolgate-task: $T\" \"$S/api/weather/v1/forecast?city=Oslo\"   # 403 DENY_TASK_ENDED\n";
    }

    /** The audit trail as a table, then the result of verifying its hash chain. */
    private void printAudit(AuditTrail audit, List<String> lines, Path file) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (audit.written() < audit.accepted() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        out.printf("Audit trail (%s, one JSON line per record, hash-chained):%n", file);
        out.printf("  %-8s %-8s %-16s %-44s %-5s %-22s %s%n", "phase", "decision", "agent (x509)", "operation",
                "allow", "code", "status / outcome");
        for (String line : lines) {
            JsonNode r = JSON.readTree(line);
            String phase = r.path("phase").asText();
            boolean decision = phase.equals("decision");
            String what = phase.equals("task")
                    ? r.path("event").asText() + " " + r.path("task_id").asText() + " by " + r.path("actor").asText()
                            .substring(r.path("actor").asText().lastIndexOf('/') + 1)
                    : r.path("operation").asText();
            String agent = r.path("agent").asText("-");
            out.printf("  %-8s %-8s %-16s %-44s %-5s %-22s %s%n", phase,
                    r.path("decision_id").asText().substring(0, 8), agent.substring(agent.lastIndexOf('/') + 1),
                    what,
                    decision ? r.path("decision").asText() : "", decision ? r.path("code").asText() : "",
                    phase.equals("outcome") ? r.path("upstream_status").asText("-") + " " + r.path("outcome").asText()
                            : "");
        }
        out.println("  (agent: the last segment of the caller's SPIFFE ID, spiffe://" + AGENT.trustDomain()
                + "/agents/..., proven by its X.509-SVID; every record has the whole ID)");
        out.println("  verify: " + AuditVerifier.verifyFromGenesis(List.of(file))
                + "   (./toolgate audit verify " + file + ")");
    }

    private void print(List<ScriptedAgent.Outcome> outcomes) {
        out.printf(" #  %-54s %-9s %-6s %s%n", "call", "protocol", "status", "what happened");
        int i = 1;
        for (ScriptedAgent.Outcome o : outcomes) {
            out.printf("%2d  %-54s %-9s %-6s %s%n", i++, o.call(), o.protocol(), o.status(), o.result());
        }
    }

    private static Path writeConfig(Path dir, String toolUrl) throws IOException {
        Files.createDirectories(dir);
        Path sidecar = dir.resolve("sidecar.yaml");
        Files.writeString(sidecar, resource("sidecar.yaml"));
        Files.writeString(dir.resolve("weather-api-key"), WEATHER_API_KEY + "\n");
        Files.writeString(dir.resolve("policies.yaml"), resource("policies.yaml"));
        Files.writeString(dir.resolve("routes.yaml"), resource("routes.yaml")
                .replace("${WEATHER_URL}", toolUrl).replace("${TOOL_URL}", toolUrl));
        return sidecar;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = Demo.class.getResourceAsStream("/demo/" + name)) {
            if (in == null) {
                throw new IOException("demo resource missing from the jar: demo/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
