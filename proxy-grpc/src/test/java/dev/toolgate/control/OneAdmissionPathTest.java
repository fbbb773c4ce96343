package dev.toolgate.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.config.ControlConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.Svid;
import dev.toolgate.policy.PolicyWatcher;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.DecisionTable;
import dev.toolgate.testing.ManualClock;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The same calls through both front ends of one sidecar, the data plane (an agent over mTLS) and Envoy's ext_authz
 * (the agent's SPIFFE ID as the principal): every decision code both can produce comes out the same, with the same
 * decision record fields. Each front end gets its own task for a row (budgets and flows are spent per task), made
 * the same way, so only the front end differs.
 *
 * <p>Not in the table: {@code DENY_NO_IDENTITY} (the data plane refuses a peer without certificate in the TLS
 * handshake, before any request exists; ext_authz with an empty principal is covered by {@link ExtAuthzTest}),
 * and {@code ERROR_FAIL_CLOSED} from a trail that cannot take the record (each front end's own wait, see
 * {@link ExtAuthzTest} and the data plane's audit pressure tests).
 */
class OneAdmissionPathTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SpiffeId AGENT = TestPki.AGENT;
    private static final SpiffeId OTHER = SpiffeId.parse("spiffe://toolgate.test/agents/writer");
    private static final SpiffeId ENVOY = SpiffeId.parse("spiffe://toolgate.test/mesh/envoy");
    /** Record fields that name one call or one task, not what was decided: compared by presence only. */
    private static final Set<String> PER_CALL = Set.of("ts", "decision_id", "decision_us", "prev_hash", "hash",
            "task_id", "grant_id", "approval_id");
    /**
     * The data plane's own span: it starts one per request (trace_id, span_id on its records); ext_authz's trace is
     * Envoy's, so its records carry neither.
     */
    private static final Set<String> DATA_PLANE_ONLY = Set.of("trace_id", "span_id");

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static Path auditFile;
    static AuditTrail audit;
    static PolicyWatcher policies;
    static ManualClock clock;
    static ProxyServer plane;
    static ControlServer control;
    static ManagedChannel envoy;
    static Map<SpiffeId, HttpClient> agents = new LinkedHashMap<>();

    /** The two front ends. */
    enum Via { DATA_PLANE, EXT_AUTHZ }

    /** One call: who makes it, how, with which task token (null: none), and a JSON-RPC body for an MCP POST. */
    record Call(SpiffeId agent, String method, String path, String token, String body) {}

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        List<RouteConfig> routes = DecisionTable.routes(upstream.url());
        auditFile = dir.resolve("audit").resolve("audit.jsonl");
        SidecarConfig config = Sidecar.config(routes)
                .withAudit(new AuditConfig(auditFile, 10_000, Duration.ofSeconds(5), null, false))
                .withControl(new ControlConfig("127.0.0.1", 0, null))
                .withAccess(AccessConfig.defaults().withExtAuthz(List.of(ENVOY.uri())));
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies").resolve("agents.yaml"), DecisionTable.POLICY);
        policies = PolicyWatcher.start(List.of(dir.resolve("policies")), routes, Duration.ofSeconds(60));
        audit = AuditTrail.open(config.audit());
        clock = new ManualClock();
        TaskRegistry tasks = TaskRegistry.open(config.tasks(), config.access(), new MemoryTaskStore(),
                routes.stream().map(RouteConfig::name).collect(Collectors.toSet()), clock, clock,
                new TaskLifecycleAudit(audit, clock, Duration.ofSeconds(5)), policies::current);
        plane = Sidecar.builder(pki, config).audit(audit).tasks(tasks).build();
        control = ControlServer.start(plane);
        Svid svid = pki.issue(ENVOY);
        envoy = NettyChannelBuilder.forAddress("127.0.0.1", control.port())
                .sslContext(GrpcSslContexts.forClient()
                        .keyManager(svid.key(), svid.chain().toArray(new X509Certificate[0]))
                        .trustManager(pki.ca().certificate()).build())
                .build();
    }

    @AfterAll
    static void stop() throws Exception {
        envoy.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        control.close();
        plane.close();
        policies.close();
        audit.close();
        upstream.close();
    }

    @ParameterizedTest
    @EnumSource(value = DecisionCode.class, names = {"DENY_NO_IDENTITY", "ERROR_FAIL_CLOSED"},
            mode = EnumSource.Mode.EXCLUDE)
    void bothFrontEndsDecideAlikeAndRecordAlike(DecisionCode code) throws Exception {
        Map<Via, JsonNode> records = new LinkedHashMap<>();
        for (Via via : Via.values()) {
            Call call = prepare(code, via);
            int before = auditLines().size();
            String answered = send(via, call);
            assertThat(answered).as("%s via %s", code, via).isEqualTo(code.name());
            records.put(via, decisionRecordAfter(before));
        }
        JsonNode plane = records.get(Via.DATA_PLANE);
        JsonNode check = records.get(Via.EXT_AUTHZ);
        assertThat(check.path("code").asText()).isEqualTo(code.name());
        assertThat(decided(check)).as("ext_authz record vs data plane record of %s", code)
                .isEqualTo(decided(plane));
        for (String field : PER_CALL) {
            assertThat(check.has(field)).as("%s present on both records of %s", field, code)
                    .isEqualTo(plane.has(field));
        }
        for (String field : DATA_PLANE_ONLY) {
            assertThat(plane.has(field)).as("%s on the data plane's record of %s", field, code).isTrue();
        }
    }

    @Test
    void anMcpSessionIsKeptToItsOpenerThroughBothFrontEnds() throws Exception {
        String call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search\","
                + "\"arguments\":{}}}";
        String opener = task(AGENT, grant("tools-mcp", "mcp:tools/call:*"));
        // The upstream hands out a session on the opener's call through the data plane: bound to AGENT and its task.
        assertThat(viaDataPlane(new Call(AGENT, "POST", "/mcp/tools", opener, call),
                Map.of(TestUpstream.OPEN_SESSION, "sess-both-paths"))).isEqualTo("ALLOW");
        Map<String, String> session = Map.of("mcp-session-id", "sess-both-paths");
        String thief = task(OTHER, grant("tools-mcp", "mcp:tools/call:*"));
        for (Via via : Via.values()) {
            assertThat(send(via, new Call(OTHER, "POST", "/mcp/tools", thief, call), session))
                    .as("another identity on the session via %s", via).isEqualTo("DENY_IDENTITY_MISMATCH");
            assertThat(send(via, new Call(AGENT, "POST", "/mcp/tools", task(AGENT, grant("tools-mcp",
                    "mcp:tools/call:*")), call), session))
                    .as("another task of the same identity via %s", via).isEqualTo("DENY_IDENTITY_MISMATCH");
            assertThat(send(via, new Call(AGENT, "POST", "/mcp/tools", opener, call), session))
                    .as("the opener via %s", via).isEqualTo("ALLOW");
        }
    }

    /**
     * A header that would make the backend run another method or path than the grant names is refused by the one
     * admission step, so Envoy's ext_authz refuses it exactly as the listener does: same code, same record.
     */
    @ParameterizedTest
    @ValueSource(strings = {"X-HTTP-Method-Override", "X-Original-URL",
            "X-Rewrite-URL", "X-Method-Override", "X-HTTP-Method", "X-Original-Method"})
    void bothFrontEndsRefuseAMethodOrPathOverride(String header) throws Exception {
        Map<Via, JsonNode> records = new LinkedHashMap<>();
        for (Via via : Via.values()) {
            Call call = new Call(AGENT, "GET", "/api/weather/today", task(AGENT, grant("weather", "GET /**")), null);
            int before = auditLines().size();
            // Lower case: Envoy sends header names lower-cased.
            assertThat(send(via, call, Map.of(header.toLowerCase(Locale.ROOT),
                    header.endsWith("URL") ? "/api/weather/admin" : "DELETE")))
                    .as("%s via %s", header, via).isEqualTo("DENY_MALFORMED");
            records.put(via, decisionRecordAfter(before));
        }
        JsonNode check = records.get(Via.EXT_AUTHZ);
        assertThat(check.path("reason").asText()).contains(header.toLowerCase(Locale.ROOT));
        assertThat(decided(check)).isEqualTo(decided(records.get(Via.DATA_PLANE)));
    }

    /** Sets up a row for one front end (its own task, warm-up calls through the same front end) and the call. */
    private static Call prepare(DecisionCode code, Via via) throws Exception {
        String path = "/api/weather/x-" + code.name().toLowerCase();
        return switch (code) {
            case ALLOW -> new Call(AGENT, "GET", path, task(AGENT, grant("weather", "GET /**")), null);
            case DENY_NO_TASK -> new Call(AGENT, "GET", path, null, null);
            case DENY_TASK_EXPIRED -> {
                String token = task(AGENT, Duration.ofMinutes(1), grant("weather", "GET /**"));
                clock.advance(Duration.ofMinutes(2));
                yield new Call(AGENT, "GET", path, token, null);
            }
            case DENY_TASK_ENDED -> {
                TaskRegistry.Started s = started(AGENT, null, grant("weather", "GET /**"));
                plane.tasks().end(AGENT, s.task().task().id(), "done");
                yield new Call(AGENT, "GET", path, s.token(), null);
            }
            case DENY_IDENTITY_MISMATCH -> new Call(OTHER, "GET", path, task(AGENT, grant("weather", "GET /**")),
                    null);
            case DENY_NO_GRANT -> new Call(AGENT, "GET", "/api/crm/x", task(AGENT, grant("weather", "GET /**")),
                    null);
            case DENY_CONDITION -> new Call(AGENT, "GET", path, task(AGENT, new GrantRequest("weather",
                    List.of("GET /**"), "request.method == \"POST\"", null, null)), null);
            case DENY_BUDGET -> {
                String token = task(AGENT, new GrantRequest("weather", List.of("GET /**"), null, 1L, null));
                assertThat(send(via, new Call(AGENT, "GET", "/api/weather/first", token, null))).isEqualTo("ALLOW");
                yield new Call(AGENT, "GET", path, token, null);
            }
            case DENY_POLICY -> new Call(AGENT, "GET", "/api/weather/admin/x", task(AGENT,
                    grant("weather", "GET /**")), null);
            case DENY_FLOW -> {
                String token = task(AGENT, grant("crm", "GET /**"), grant("mail", "POST /**"));
                assertThat(send(via, new Call(AGENT, "GET", "/api/crm/customers/7", token, null)))
                        .isEqualTo("ALLOW");
                yield new Call(AGENT, "POST", "/api/mail/send", token, "{}");
            }
            case PENDING_APPROVAL -> new Call(AGENT, "DELETE", path, task(AGENT, grant("weather", "DELETE /**")),
                    null);
            case DENY_MALFORMED -> new Call(AGENT, "POST", "/mcp/tools",
                    task(AGENT, grant("tools-mcp", "mcp:tools/call:*")), "{\"jsonrpc\":\"2.0\",\"id\":1,");
            case DENY_NO_IDENTITY, ERROR_FAIL_CLOSED -> throw new IllegalArgumentException("not in the table: " + code);
        };
    }

    /** Makes the call through {@code via}; returns the decision code it was answered with. */
    private static String send(Via via, Call c) throws Exception {
        return send(via, c, Map.of());
    }

    private static String send(Via via, Call c, Map<String, String> headers) throws Exception {
        return via == Via.DATA_PLANE ? viaDataPlane(c, headers) : viaExtAuthz(c, headers);
    }

    private static String viaDataPlane(Call c, Map<String, String> headers) throws Exception {
        HttpClient client = agents.computeIfAbsent(c.agent(), a -> {
            try {
                return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(pki.jdkClient(a))
                        .build();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + plane.port() + c.path()))
                .timeout(Duration.ofSeconds(10))
                .method(c.method(), c.body() == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(c.body()));
        if (c.body() != null) {
            b.header("content-type", "application/json");
        }
        if (c.token() != null) {
            b.header("toolgate-task", c.token());
        }
        headers.forEach(b::header);
        HttpResponse<String> res = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode answer = JSON.readTree(res.body());
        // An MCP POST is refused in JSON-RPC's form: the code rides in error.data; a JSON-RPC refusal of a single
        // request comes with status 200, so the code decides, not the status.
        if (answer.path("error").isObject()) {
            return answer.path("error").path("data").path("code").asText();
        }
        return res.statusCode() == 200 ? "ALLOW" : answer.path("code").asText();
    }

    private static String viaExtAuthz(Call c, Map<String, String> headers) throws Exception {
        AttributeContext.HttpRequest.Builder http = AttributeContext.HttpRequest.newBuilder()
                .setId("1").setMethod(c.method()).setPath(c.path()).setHost("tools.internal").setScheme("https")
                .setProtocol("HTTP/1.1");
        if (c.token() != null) {
            http.putHeaders("toolgate-task", c.token());
        }
        http.putAllHeaders(headers);
        if (c.body() != null) {
            http.putHeaders("content-type", "application/json").setBody(c.body())
                    .setSize(c.body().getBytes(StandardCharsets.UTF_8).length);
        }
        CheckRequest req = CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
                .setSource(AttributeContext.Peer.newBuilder().setPrincipal(c.agent().uri()))
                .setRequest(AttributeContext.Request.newBuilder().setHttp(http))).build();
        CheckResponse res = AuthorizationGrpc.newBlockingStub(envoy).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(req);
        return res.hasOkResponse() ? "ALLOW" : JSON.readTree(res.getDeniedResponse().getBody()).path("code").asText();
    }

    /** The decision record's fields that say what was decided, ids of this call's task and approval masked. */
    private static Map<String, JsonNode> decided(JsonNode rec) {
        ObjectNode copy = rec.deepCopy();
        PER_CALL.forEach(copy::remove);
        DATA_PLANE_ONLY.forEach(copy::remove);
        copy.put("reason", copy.path("reason").asText()
                .replaceAll("t-[0-9a-f]{24}", "t-…").replaceAll("apr_[A-Za-z0-9_-]+", "apr_…")
                .replaceAll("\\bg[0-9]+\\b", "g…"));
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        copy.fields().forEachRemaining(e -> fields.put(e.getKey(), e.getValue()));
        return fields;
    }

    /** The one decision record written after the audit file had {@code before} lines. */
    private static JsonNode decisionRecordAfter(int before) throws Exception {
        List<String> lines = auditLines();
        List<JsonNode> decisions = new ArrayList<>();
        for (String line : lines.subList(before, lines.size())) {
            JsonNode rec = JSON.readTree(line);
            if (rec.path("phase").asText().equals("decision")) {
                decisions.add(rec);
            }
        }
        assertThat(decisions).as("decision records after line %d", before).hasSize(1);
        return decisions.get(0);
    }

    /** The audit file's lines once everything accepted so far is written. */
    private static List<String> auditLines() throws Exception {
        // The writer counts a record as written when the sink took it and flushes once per batch: wait until
        // everything accepted is written and the file holds it.
        return Await.value("every accepted audit record in " + auditFile, () -> {
            long written = audit.written();
            List<String> lines = Files.readAllLines(auditFile);
            return written >= audit.accepted() && lines.size() >= written ? Optional.of(lines) : Optional.empty();
        });
    }

    private static GrantRequest grant(String route, String... ops) {
        return new GrantRequest(route, List.of(ops), null, null, null);
    }

    private static String task(SpiffeId who, GrantRequest... grants) throws Exception {
        return started(who, null, grants).token();
    }

    private static String task(SpiffeId who, Duration ttl, GrantRequest... grants) throws Exception {
        return started(who, ttl, grants).token();
    }

    private static TaskRegistry.Started started(SpiffeId who, Duration ttl, GrantRequest... grants)
            throws Exception {
        return plane.tasks().start(who, new StartRequest(null, "one admission path", ttl, List.of(grants)));
    }
}
