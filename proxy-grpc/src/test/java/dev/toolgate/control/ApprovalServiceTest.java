package dev.toolgate.control;

import static dev.toolgate.control.ControlFixture.ADMIN;
import static dev.toolgate.control.ControlFixture.AGENT;
import static dev.toolgate.control.ControlFixture.APPROVER;
import static dev.toolgate.control.ControlFixture.LEAD;
import static dev.toolgate.control.ControlFixture.OTHER;
import static dev.toolgate.control.ControlFixture.OUTSIDER;
import static dev.toolgate.control.ControlFixture.refused;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.api.v1.Approval;
import dev.toolgate.api.v1.ApprovalDecision;
import dev.toolgate.api.v1.ApprovalState;
import dev.toolgate.api.v1.DecideRequest;
import dev.toolgate.api.v1.EndTaskRequest;
import dev.toolgate.api.v1.ListPendingRequest;
import dev.toolgate.api.v1.StartTaskResponse;
import dev.toolgate.identity.SpiffeId;
import io.grpc.Status;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ApprovalService over real mTLS against a real data plane whose policy asks for approval of {@code GET /alerts/*}
 * on route weather: a call waits ({@code PENDING_APPROVAL} and an approval id), an approver lists and decides it,
 * and the same call then passes (or stays denied). Every refusal with its status: PERMISSION_DENIED for a caller
 * outside {@code access.approvers} and for an agent deciding its own request (even one listed as approver),
 * NOT_FOUND, FAILED_PRECONDITION, INVALID_ARGUMENT.
 */
class ApprovalServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String POLICY = """
            kind: Policy
            name: agents
            subjects: ["spiffe://toolgate.test/agents/*"]
            allow:
              - name: forecast
                route: weather
                operations: ["GET /forecast/*"]
              - name: alerts
                route: weather
                operations: ["GET /alerts/*"]
                approval: required
            """;

    @TempDir
    static Path dir;
    static ControlFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = ControlFixture.start(dir, 10_000, 1024, POLICY);
    }

    @AfterAll
    static void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    /** Makes a call that needs approval as {@code agent}; returns the approval id of its 403 answer. */
    static String pendingCall(SpiffeId agent, String token, String path) throws Exception {
        HttpResponse<String> res = f.call(agent, path, token);
        assertThat(res.statusCode()).as(res.body()).isEqualTo(403);
        JsonNode body = JSON.readTree(res.body());
        assertThat(body.path("code").asText()).isEqualTo("PENDING_APPROVAL");
        return body.path("approval_id").asText();
    }

    static DecideRequest decide(String id, ApprovalDecision d, String reason) {
        return DecideRequest.newBuilder().setApprovalId(id).setDecision(d).setReason(reason).build();
    }

    @Test
    void listPendingShowsTheIntent_decideApproves_andTheSameCallPasses() throws Exception {
        StartTaskResponse task = f.start(AGENT, "storm watch for Bergen", "GET /alerts/*");
        String id = pendingCall(AGENT, task.getToken(), "/api/weather/alerts/bergen");
        assertThat(id).matches("apr_[0-9a-f]{24}");

        List<Approval> listed = f.approvals(APPROVER).listPending(ListPendingRequest.newBuilder()
                .setTaskId(task.getTask().getTaskId()).build()).getApprovalsList();
        assertThat(listed).hasSize(1);
        Approval a = listed.get(0);
        assertThat(a.getApprovalId()).isEqualTo(id);
        assertThat(a.getState()).isEqualTo(ApprovalState.APPROVAL_STATE_PENDING);
        assertThat(a.getAgent()).isEqualTo(AGENT.uri());
        assertThat(a.getTaskId()).isEqualTo(task.getTask().getTaskId());
        assertThat(a.getPurpose()).isEqualTo("storm watch for Bergen");
        assertThat(a.getRoute()).isEqualTo("weather");
        assertThat(a.getOperation()).isEqualTo("GET /alerts/bergen");
        assertThat(a.getPolicy()).startsWith("agents/alerts@");
        assertThat(a.getArgumentsMap()).isEmpty();
        assertThat(a.getExpiresAt().getSeconds()).isGreaterThan(a.getCreatedAt().getSeconds());
        assertThat(f.approvals(APPROVER).listPending(ListPendingRequest.newBuilder().setAgent(OTHER.uri()).build())
                .getApprovalsList()).isEmpty();

        Approval decided = f.approvals(APPROVER).decide(decide(id, ApprovalDecision.APPROVAL_DECISION_APPROVE,
                "storm season"));
        assertThat(decided.getState()).isEqualTo(ApprovalState.APPROVAL_STATE_APPROVED);
        assertThat(decided.getDecidedBy()).isEqualTo(APPROVER.uri());
        assertThat(decided.getReason()).isEqualTo("storm season");
        assertThat(decided.getCallsLeft()).isEqualTo(1);
        assertThat(f.call(AGENT, "/api/weather/alerts/bergen", task.getToken()).statusCode()).isEqualTo(200);
        // approvals.calls defaults to 1: the next identical call asks again.
        assertThat(pendingCall(AGENT, task.getToken(), "/api/weather/alerts/bergen")).isNotEqualTo(id);

        refused(Status.Code.FAILED_PRECONDITION, () -> f.approvals(APPROVER).decide(decide(id,
                ApprovalDecision.APPROVAL_DECISION_DENY, "too late")));

        List<String> lines = f.auditLines();
        assertThat(lines).anySatisfy(l -> {
            JsonNode r = JSON.readTree(l);
            assertThat(r.path("event").asText()).isEqualTo("approval_granted");
            assertThat(r.path("approval_id").asText()).isEqualTo(id);
            assertThat(r.path("actor").asText()).isEqualTo(APPROVER.uri());
        });
    }

    @Test
    void aDeniedCallStaysDenied() throws Exception {
        StartTaskResponse task = f.start(AGENT, "alerts", "GET /alerts/*");
        String id = pendingCall(AGENT, task.getToken(), "/api/weather/alerts/oslo");
        Approval denied = f.approvals(APPROVER).decide(decide(id, ApprovalDecision.APPROVAL_DECISION_DENY,
                "no alerts today"));
        assertThat(denied.getState()).isEqualTo(ApprovalState.APPROVAL_STATE_DENIED);
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> res = f.call(AGENT, "/api/weather/alerts/oslo", task.getToken());
            JsonNode body = JSON.readTree(res.body());
            assertThat(body.path("code").asText()).isEqualTo("DENY_POLICY");
            assertThat(body.path("approval_id").asText()).isEqualTo(id);
            assertThat(body.path("reason").asText()).contains("denied by " + APPROVER.uri(), "no alerts today");
        }
    }

    @Test
    void onlyApproversMayListOrDecide_andAnAgentNeverDecidesItsOwnRequest() throws Exception {
        StartTaskResponse mine = f.start(LEAD, "lead's alerts", "GET /alerts/*");
        String own = pendingCall(LEAD, mine.getToken(), "/api/weather/alerts/tromso");

        for (SpiffeId notApprover : List.of(AGENT, ADMIN)) {
            Status.Code code = refused(Status.Code.PERMISSION_DENIED, () -> f.approvals(notApprover)
                    .listPending(ListPendingRequest.getDefaultInstance())).getStatus().getCode();
            assertThat(code).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(refused(Status.Code.PERMISSION_DENIED, () -> f.approvals(notApprover).decide(decide(own,
                    ApprovalDecision.APPROVAL_DECISION_APPROVE, ""))).getStatus().getDescription())
                    .contains(notApprover.uri(), "access.approvers");
        }
        // Outside access.control: refused before any service sees it.
        refused(Status.Code.PERMISSION_DENIED, () -> f.approvals(OUTSIDER)
                .listPending(ListPendingRequest.getDefaultInstance()));

        // LEAD is an approver, but this request is its own.
        assertThat(f.approvals(LEAD).listPending(ListPendingRequest.newBuilder().setAgent(LEAD.uri()).build())
                .getApprovalsList()).extracting(Approval::getApprovalId).contains(own);
        assertThat(refused(Status.Code.PERMISSION_DENIED, () -> f.approvals(LEAD).decide(decide(own,
                ApprovalDecision.APPROVAL_DECISION_APPROVE, "looks fine to me"))).getStatus().getDescription())
                .contains("never approves its own request");
        assertThat(pendingCall(LEAD, mine.getToken(), "/api/weather/alerts/tromso")).isEqualTo(own);

        // It may decide another agent's.
        StartTaskResponse other = f.start(AGENT, "alerts", "GET /alerts/*");
        String theirs = pendingCall(AGENT, other.getToken(), "/api/weather/alerts/narvik");
        assertThat(f.approvals(LEAD).decide(decide(theirs, ApprovalDecision.APPROVAL_DECISION_APPROVE, ""))
                .getDecidedBy()).isEqualTo(LEAD.uri());
        assertThat(f.call(AGENT, "/api/weather/alerts/narvik", other.getToken()).statusCode()).isEqualTo(200);
    }

    /** One CLI run as the identity whose SVID files are in {@code svidDir}: exit code, stdout, stderr. */
    record Run(int exit, String out, String err) {}

    static Run toolgate(SpiffeId caller, String... args) throws Exception {
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.addAll(List.of("--control", "127.0.0.1:" + f.control.port(), "--svid-dir",
                f.pki.files(caller).toString()));
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cli = dev.toolgate.cli.Main.commandLine();
        cli.setOut(new java.io.PrintWriter(out, true));
        cli.setErr(new java.io.PrintWriter(err, true));
        return new Run(cli.execute(all.toArray(String[]::new)), out.toString(), err.toString());
    }

    @Test
    void theCliListsApprovesAndDenies_andReportsRefusals() throws Exception {
        StartTaskResponse task = f.start(AGENT, "cli alerts", "GET /alerts/*");
        String first = pendingCall(AGENT, task.getToken(), "/api/weather/alerts/bodo");
        String second = pendingCall(AGENT, task.getToken(), "/api/weather/alerts/mo");

        Run list = toolgate(APPROVER, "approvals", "list", "--task", task.getTask().getTaskId());
        assertThat(list.exit()).as(list.err()).isZero();
        List<String> lines = list.out().lines().toList();
        assertThat(lines.get(0)).startsWith("APPROVAL").contains("EXPIRES", "TASK", "AGENT", "OPERATION");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith(first).contains(task.getTask().getTaskId(),
                AGENT.uri(), "weather GET /alerts/bodo"));
        assertThat(lines).contains("  purpose: cli alerts");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("  rule: agents/alerts@"));

        Run approved = toolgate(APPROVER, "approvals", "approve", first, "--reason", "storm");
        assertThat(approved.exit()).as(approved.err()).isZero();
        assertThat(approved.out()).startsWith("approval " + first + "  approved by " + APPROVER.uri())
                .contains("reason: storm", "covers 1 more call(s)");
        assertThat(f.call(AGENT, "/api/weather/alerts/bodo", task.getToken()).statusCode()).isEqualTo(200);

        Run noReason = toolgate(APPROVER, "approvals", "deny", second);
        assertThat(noReason.exit()).isEqualTo(2);
        assertThat(noReason.err()).contains("--reason");
        Run denied = toolgate(APPROVER, "approvals", "deny", second, "--reason", "not needed");
        assertThat(denied.exit()).as(denied.err()).isZero();
        assertThat(denied.out()).startsWith("approval " + second + "  denied by " + APPROVER.uri());
        assertThat(JSON.readTree(f.call(AGENT, "/api/weather/alerts/mo", task.getToken()).body())
                .path("code").asText()).isEqualTo("DENY_POLICY");

        Run again = toolgate(APPROVER, "approvals", "approve", second);
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).startsWith("toolgate approvals approve: FAILED_PRECONDITION: approval " + second
                + " was already denied");
        Run notApprover = toolgate(AGENT, "approvals", "list");
        assertThat(notApprover.exit()).isEqualTo(1);
        assertThat(notApprover.err()).startsWith("toolgate approvals list: PERMISSION_DENIED");
    }

    @Test
    void unknownExpiredAndMalformedDecisionsAreRefused() throws Exception {
        refused(Status.Code.NOT_FOUND, () -> f.approvals(APPROVER).decide(decide("apr_000000000000000000000000",
                ApprovalDecision.APPROVAL_DECISION_APPROVE, "")));
        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.approvals(APPROVER).decide(decide("",
                ApprovalDecision.APPROVAL_DECISION_APPROVE, ""))).getStatus().getDescription())
                .contains("approval_id: missing");

        StartTaskResponse task = f.start(AGENT, "alerts", "GET /alerts/*");
        String id = pendingCall(AGENT, task.getToken(), "/api/weather/alerts/alta");
        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.approvals(APPROVER).decide(
                DecideRequest.newBuilder().setApprovalId(id).build())).getStatus().getDescription())
                .contains("decision: APPROVAL_DECISION_UNSPECIFIED");
        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.approvals(APPROVER).decide(decide(id,
                ApprovalDecision.APPROVAL_DECISION_DENY, ""))).getStatus().getDescription())
                .contains("reason: missing");
        assertThat(refused(Status.Code.INVALID_ARGUMENT, () -> f.approvals(APPROVER).listPending(
                ListPendingRequest.newBuilder().setAgent("not-a-spiffe-id").build())).getStatus().getDescription())
                .startsWith("agent: ");

        // The task ends: its approval is gone (and audited as expired).
        f.tasks(AGENT).endTask(EndTaskRequest.newBuilder().setTaskId(task.getTask().getTaskId()).build());
        refused(Status.Code.NOT_FOUND, () -> f.approvals(APPROVER).decide(decide(id,
                ApprovalDecision.APPROVAL_DECISION_APPROVE, "")));
        assertThat(f.auditLines()).anySatisfy(l -> {
            JsonNode r = JSON.readTree(l);
            assertThat(r.path("event").asText()).isEqualTo("approval_expired");
            assertThat(r.path("approval_id").asText()).isEqualTo(id);
        });
    }
}
