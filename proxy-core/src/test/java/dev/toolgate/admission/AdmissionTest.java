package dev.toolgate.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.authz.Authorizer;
import dev.toolgate.authz.CallDecider;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.call.RequestHeaders;
import dev.toolgate.call.RouteTable;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskAudit;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.mcp.McpParseException;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.mcp.McpSessions;
import dev.toolgate.testing.ManualClock;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Admission} on its own, without sockets: what every front end relies on it for. The front ends' own tests
 * (data plane, ext_authz, {@code OneAdmissionPathTest}) check the same through real connections.
 */
class AdmissionTest {
    private static final SpiffeId AGENT = SpiffeId.parse("spiffe://toolgate.test/agents/researcher");
    private static final SpiffeId OTHER = SpiffeId.parse("spiffe://toolgate.test/agents/writer");
    private static final String TOOL_CALL = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
            + "\"params\":{\"name\":\"search\",\"arguments\":{\"q\":\"x\"}}}";

    private final ManualClock clock = new ManualClock();
    private final List<RouteConfig> routes = List.of(
            new RouteConfig("weather", "/api/weather", null, Protocol.HTTP,
                    new UpstreamConfig(URI.create("http://127.0.0.1:9"), null, null), null, null),
            new RouteConfig("tools", "/mcp/tools", null, Protocol.MCP,
                    new UpstreamConfig(URI.create("http://127.0.0.1:9/mcp"), null, null), null, null));
    private final TaskRegistry tasks = TaskRegistry.open(TasksConfig.defaults(), AccessConfig.defaults(),
            new MemoryTaskStore(), Set.of("weather", "tools"), clock, clock, TaskAudit.NONE);
    private final McpSessions sessions = new McpSessions();
    private final Admission admission = new Admission(RouteTable.of(routes), new CallDecider(new Authorizer(tasks)),
            route -> ArgumentCapture.NONE, new McpParser(4096, 32, 1024), sessions, clock);

    @AfterEach
    void close() throws Exception {
        tasks.close();
    }

    @Test
    void aGrantedCallIsAdmittedWithTheNormalizedTargetAndItsIntent() throws Exception {
        String token = task(AGENT, new GrantRequest("weather", List.of("GET /forecast/*"), null, null, null));

        Step step = admission.head(get(AGENT, "/api/weather/./forecast//oslo?days=2", token));

        assertThat(step).isInstanceOf(Step.Admitted.class);
        Step.Admitted a = (Step.Admitted) step;
        assertThat(a.target().path()).isEqualTo("/api/weather/forecast/oslo");
        assertThat(a.target().query()).isEqualTo("days=2");
        assertThat(a.intent().route()).isEqualTo("weather");
        assertThat(a.intent().protocol()).isEqualTo(Protocol.HTTP);
        assertThat(a.intent().operation()).isEqualTo("GET /api/weather/forecast/oslo");
        assertThat(a.intent().decision()).isSameAs(a.allow());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/weather/a%2Fb", "/api/weather/%2e%2e%2fadmin", "/api/weather/x%00", "*",
            "http://evil.example/api/weather", "/api/weather/%zz"})
    void aHostileTargetIsMalformedAndNeverMatched(String target) {
        Step.Refused r = refused(admission.head(get(AGENT, target, "tg1.x")));

        assertThat(r.code()).isEqualTo(DecisionCode.DENY_MALFORMED);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error()).isEqualTo("bad_request");
        assertThat(r.reason()).startsWith("refused request target: ");
        assertThat(r.intent().route()).isNull();
    }

    @Test
    void twoTaskTokensAreMalformed() {
        Step.Refused r = refused(admission.head(request(AGENT, "GET", "/api/weather/x",
                Map.of("toolgate-task", List.of("tg1.a", "tg1.b")))));

        assertThat(r.code()).isEqualTo(DecisionCode.DENY_MALFORMED);
        assertThat(r.reason()).contains("more than one toolgate-task header");
    }

    @Test
    void noIdentityIsRefused401() {
        Step.Refused r = refused(admission.head(get(null, "/api/weather/x", null)));

        assertThat(r.code()).isEqualTo(DecisionCode.DENY_NO_IDENTITY);
        assertThat(r.status()).isEqualTo(401);
    }

    @Test
    void anUnknownPathIsNoRoute404() {
        Step.Refused r = refused(admission.head(get(AGENT, "/nowhere/x", null)));

        assertThat(r.code()).isEqualTo(DecisionCode.DENY_POLICY);
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.error()).isEqualTo("no_route");
        assertThat(r.intent().operation()).isEqualTo("GET /nowhere/x");
    }

    @Test
    void theSidecarsOwnEndpointsAreLocalOnlyWhereTheFrontEndServesThem() {
        AdmissionRequest local = new AdmissionRequest("POST", "/_toolgate/v1/tasks", headers(Map.of()), AGENT,
                IdentityProof.X509, true);
        assertThat(admission.head(local)).isInstanceOf(Step.Local.class);

        AdmissionRequest viaEnvoy = new AdmissionRequest("POST", "/_toolgate/v1/tasks", headers(Map.of()), AGENT,
                IdentityProof.X509, false);
        assertThat(refused(admission.head(viaEnvoy)).answer()).isEqualTo(Step.Answer.NO_ROUTE);
    }

    @Test
    void anMcpPostWaitsForItsBodyAndIsJudgedByIt() throws Exception {
        String token = task(AGENT, new GrantRequest("tools", List.of("mcp:tools/call:search"), null, null, null));

        Step head = admission.head(mcpPost(AGENT, token, null));
        assertThat(head).isInstanceOf(Step.NeedsBody.class);
        Step body = admission.body((Step.NeedsBody) head, bytes(TOOL_CALL), 0, TOOL_CALL.length());

        assertThat(body).isInstanceOf(Step.Admitted.class);
        assertThat(body.intent().operation()).isEqualTo("mcp:tools/call:search");
        assertThat(body.intent().arguments().digest()).matches("[0-9a-f]{64}");
    }

    @Test
    void anMcpPostThatIsNotJsonIsRefused415InJsonRpcForm() {
        Step.Refused r = refused(admission.head(request(AGENT, "POST", "/mcp/tools",
                Map.of("content-type", List.of("text/plain")))));

        assertThat(r.status()).isEqualTo(415);
        assertThat(r.jsonRpc()).isNotNull();
        assertThat(r.jsonRpc().rpcCode()).isEqualTo(McpParseException.INVALID_REQUEST);
        assertThat(new String(JsonRpcDenial.of(r, "d1").json(), StandardCharsets.UTF_8))
                .contains("\"code\":\"DENY_MALFORMED\"").contains("\"decision_id\":\"d1\"");
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"jsonrpc\":\"2.0\",\"id\":1,", "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}",
            "[]", "42", "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}"})
    void anUnreadableMcpBodyIsMalformedWithTheParsersCode(String json) {
        Step.NeedsBody pending = (Step.NeedsBody) admission.head(mcpPost(AGENT, "tg1.x", null));

        Step.Refused r = refused(admission.body(pending, bytes(json), 0, json.length()));

        assertThat(r.code()).isEqualTo(DecisionCode.DENY_MALFORMED);
        assertThat(r.jsonRpc().parsed()).isNull();
        assertThat(r.jsonRpc().rpcCode()).isNotZero();
    }

    @Test
    void aBodyOverTheLimitIsRefused413() {
        Step.NeedsBody pending = (Step.NeedsBody) admission.head(mcpPost(AGENT, "tg1.x", null));
        byte[] big = new byte[pending.maxBytes() + 1];

        Step.Refused r = refused(admission.body(pending, big, 0, big.length));

        assertThat(r.status()).isEqualTo(413);
        assertThat(r.answer()).isEqualTo(Step.Answer.BODY_TOO_LARGE);
    }

    @Test
    void aBatchIsRefusedWholeWhenOneMessageIsDeniedAndRecordsEachElement() throws Exception {
        String token = task(AGENT, new GrantRequest("tools", List.of("mcp:tools/call:search"), null, null, null));
        String batch = "[" + TOOL_CALL + "," + TOOL_CALL.replace("\"search\"", "\"delete\"").replace("7", "8") + "]";
        Step.NeedsBody pending = (Step.NeedsBody) admission.head(mcpPost(AGENT, token, null));

        Step.Refused r = refused(admission.body(pending, bytes(batch), 0, batch.length()));

        assertThat(r.code()).isEqualTo(DecisionCode.DENY_NO_GRANT);
        assertThat(r.intent().elements()).extracting(e -> e.code())
                .containsExactly("ALLOW", "DENY_NO_GRANT");
        String answer = new String(JsonRpcDenial.of(r, "d2").json(), StandardCharsets.UTF_8);
        assertThat(answer).contains("\"id\":7").contains("another request of the batch was denied")
                .contains("\"id\":8").contains("DENY_NO_GRANT");
    }

    @Test
    void whatAnUnforwardedCallTookIsGivenBack() throws Exception {
        String token = task(AGENT, new GrantRequest("weather", List.of("GET /**"), null, 1L, null));
        Step.Admitted first = (Step.Admitted) admission.head(get(AGENT, "/api/weather/a", token));

        admission.giveBack(first); // e.g. its credential or its decision record failed

        assertThat(admission.head(get(AGENT, "/api/weather/b", token))).isInstanceOf(Step.Admitted.class);
        assertThat(refused(admission.head(get(AGENT, "/api/weather/c", token))).code())
                .isEqualTo(DecisionCode.DENY_BUDGET);
    }

    @Test
    void anMcpSessionIsUsedOnlyByTheIdentityAndTaskThatOpenedIt() throws Exception {
        GrantRequest grant = new GrantRequest("tools", List.of("mcp:tools/call:*"), null, 1L, null);
        String opener = task(AGENT, grant);
        Step.Admitted opening = admitted(AGENT, opener, null);
        admission.sessionOpened(opening, AGENT.uri(), "s-1");

        String thief = task(OTHER, grant);
        Step.Refused hijack = refused(mcp(OTHER, thief, "s-1"));
        assertThat(hijack.code()).isEqualTo(DecisionCode.DENY_IDENTITY_MISMATCH);
        assertThat(hijack.reason()).contains("another identity");
        // The refused call's budget was given back: the thief's one call still works on a session of its own.
        assertThat(mcp(OTHER, thief, "s-2")).isInstanceOf(Step.Admitted.class);

        String secondTask = task(AGENT, grant);
        assertThat(refused(mcp(AGENT, secondTask, "s-1")).reason()).contains("another task");
    }

    // ---- requests ----------------------------------------------------------------------------------------

    private Step mcp(SpiffeId agent, String token, String session) {
        Step.NeedsBody pending = (Step.NeedsBody) admission.head(mcpPost(agent, token, session));
        return admission.body(pending, bytes(TOOL_CALL), 0, TOOL_CALL.length());
    }

    private Step.Admitted admitted(SpiffeId agent, String token, String session) {
        Step step = mcp(agent, token, session);
        assertThat(step).isInstanceOf(Step.Admitted.class);
        return (Step.Admitted) step;
    }

    private static AdmissionRequest get(SpiffeId agent, String target, String token) {
        return request(agent, "GET", target, token == null ? Map.of() : Map.of("toolgate-task", List.of(token)));
    }

    private static AdmissionRequest mcpPost(SpiffeId agent, String token, String session) {
        Map<String, List<String>> h = new LinkedHashMap<>();
        h.put("content-type", List.of("application/json"));
        h.put("toolgate-task", List.of(token));
        if (session != null) {
            h.put("mcp-session-id", List.of(session));
        }
        return request(agent, "POST", "/mcp/tools", h);
    }

    private static AdmissionRequest request(SpiffeId agent, String method, String target,
                                            Map<String, List<String>> headers) {
        return new AdmissionRequest(method, target, headers(headers), agent, IdentityProof.X509, true);
    }

    /** Headers as a front end gives them: one value per header line, names case-insensitive. */
    private static RequestHeaders headers(Map<String, List<String>> lines) {
        return new RequestHeaders() {
            @Override
            public String host() {
                return null;
            }

            @Override
            public Map<String, String> asMap() {
                Map<String, String> m = new LinkedHashMap<>();
                lines.forEach((k, v) -> m.put(k.toLowerCase(Locale.ROOT), String.join(", ", v)));
                return m;
            }

            @Override
            public List<String> values(String name) {
                List<String> out = new ArrayList<>();
                lines.forEach((k, v) -> {
                    if (k.equalsIgnoreCase(name)) {
                        out.addAll(v);
                    }
                });
                return out;
            }
        };
    }

    private String task(SpiffeId who, GrantRequest grant) throws Exception {
        return tasks.start(who, new StartRequest(null, "admission test", null, List.of(grant))).token();
    }

    private static Step.Refused refused(Step step) {
        assertThat(step).isInstanceOf(Step.Refused.class);
        return (Step.Refused) step;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
