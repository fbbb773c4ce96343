package dev.toolgate.approval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.ApprovalLifecycleAudit;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.ApprovalsConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.testing.AuditRecords;
import dev.toolgate.testing.ManualClock;
import dev.toolgate.testing.MemoryAuditSink;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The approval registry on its own: what makes calls "the same", its bounds, windows, expiry and who may decide,
 * every step written to a real audit trail (in memory), time moved by hand.
 */
class ApprovalsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final SpiffeId AGENT = SpiffeId.parse("spiffe://toolgate.test/agents/researcher");
    static final SpiffeId APPROVER = SpiffeId.parse("spiffe://toolgate.test/ops/alice");

    final ManualClock clock = new ManualClock();
    final MemoryAuditSink sink = new MemoryAuditSink();
    final AuditTrail trail = AuditTrail.start(sink, null, 1000);

    @AfterEach
    void close() {
        trail.close();
    }

    Approvals approvals(ApprovalsConfig config) {
        return Approvals.create(config, clock, new ApprovalLifecycleAudit(trail, clock, Duration.ofSeconds(1)));
    }

    ApprovalRequest request(String task, String operation, String digest) {
        return new ApprovalRequest(AGENT, task, clock.instant().plus(Duration.ofHours(1)), "close the quarter",
                "crm", operation, digest, "agents/crm-read@abc", Map.of());
    }

    List<JsonNode> records() throws Exception {
        AuditRecords.awaitWritten(trail);
        List<JsonNode> out = new ArrayList<>();
        for (String l : sink.lines) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    @Test
    void theSameOperationWaitsOnOneApproval_anotherArgumentOrTaskGetsItsOwn() throws Exception {
        Approvals a = approvals(ApprovalsConfig.defaults());
        ApprovalCheck first = a.check(request("t-1", "GET /customers/7", null));
        assertThat(first.outcome()).isEqualTo(ApprovalCheck.Outcome.PENDING);
        assertThat(first.approval().id()).matches("apr_[0-9a-f]{24}");
        for (int i = 0; i < 5; i++) {
            assertThat(a.check(request("t-1", "GET /customers/7", null)).approval().id())
                    .isEqualTo(first.approval().id());
        }
        assertThat(a.check(request("t-1", "GET /customers/8", null)).approval().id())
                .isNotEqualTo(first.approval().id());
        assertThat(a.check(request("t-1", "GET /customers/7", "ab12")).approval().id())
                .isNotEqualTo(first.approval().id());
        assertThat(a.check(request("t-2", "GET /customers/7", null)).approval().id())
                .isNotEqualTo(first.approval().id());
        assertThat(a.pendingCount()).isEqualTo(4);
        assertThat(a.pending(null, "t-1")).hasSize(3);
        assertThat(a.pending(SpiffeId.parse("spiffe://toolgate.test/agents/other"), null)).isEmpty();

        // One approval_requested record per approval, not per call, with the intent.
        List<JsonNode> requested = records().stream()
                .filter(r -> r.path("event").asText().equals("approval_requested")).toList();
        assertThat(requested).hasSize(4);
        JsonNode r = requested.get(0);
        assertThat(r.path("phase").asText()).isEqualTo("task");
        assertThat(r.path("approval_id").asText()).isEqualTo(first.approval().id());
        assertThat(r.path("actor").asText()).isEqualTo(AGENT.uri());
        assertThat(r.path("agent").asText()).isEqualTo(AGENT.uri());
        assertThat(r.path("task_id").asText()).isEqualTo("t-1");
        assertThat(r.path("purpose").asText()).isEqualTo("close the quarter");
        assertThat(r.path("route").asText()).isEqualTo("crm");
        assertThat(r.path("operation").asText()).isEqualTo("GET /customers/7");
        assertThat(r.path("policy").asText()).isEqualTo("agents/crm-read@abc");
        assertThat(requested.get(2).path("args_digest").asText()).isEqualTo("ab12");
    }

    @Test
    void pendingApprovalsAreBoundedOverallAndPerTask_expiryMakesRoom() throws Exception {
        Approvals a = approvals(new ApprovalsConfig(Duration.ofMinutes(1), null, null, 3, 2));
        assertThat(a.check(request("t-1", "GET /customers/1", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.PENDING);
        assertThat(a.check(request("t-1", "GET /customers/2", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.PENDING);
        ApprovalCheck perTask = a.check(request("t-1", "GET /customers/3", null));
        assertThat(perTask.outcome()).isEqualTo(ApprovalCheck.Outcome.REFUSED);
        assertThat(perTask.reason()).contains("t-1", "approvals.maxPendingPerTask");
        // The same operation again is no new approval, so the bound does not refuse it.
        assertThat(a.check(request("t-1", "GET /customers/1", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.PENDING);
        assertThat(a.check(request("t-2", "GET /customers/1", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.PENDING);
        ApprovalCheck overall = a.check(request("t-3", "GET /customers/1", null));
        assertThat(overall.outcome()).isEqualTo(ApprovalCheck.Outcome.REFUSED);
        assertThat(overall.reason()).contains("3 approvals are already waiting (approvals.maxPending)");
        assertThat(a.pendingCount()).isEqualTo(3);

        clock.advance(Duration.ofMinutes(1));
        a.sweep();
        assertThat(a.pendingCount()).isZero();
        assertThat(a.check(request("t-3", "GET /customers/1", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.PENDING);
        assertThat(records().stream().filter(r -> r.path("event").asText().equals("approval_expired")).count())
                .isEqualTo(3);
    }

    @Test
    void anApprovalCoversItsCallCountThenTheNextCallAsksAgain() throws Exception {
        Approvals a = approvals(new ApprovalsConfig(null, Duration.ofMinutes(5), 2, null, null));
        String id = a.check(request("t-1", "GET /customers/7", null)).approval().id();
        Approval decided = a.decide(id, true, "ticket 4711", APPROVER);
        assertThat(decided.state()).isEqualTo(Approval.State.APPROVED);
        assertThat(decided.callsLeft()).isEqualTo(2);
        assertThat(decided.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(5)));
        assertThat(a.pendingCount()).isZero();
        assertThat(a.check(request("t-1", "GET /customers/7", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.APPROVED);
        // A call denied later gives its use back.
        a.refund(id);
        assertThat(a.check(request("t-1", "GET /customers/7", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.APPROVED);
        assertThat(a.check(request("t-1", "GET /customers/7", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.APPROVED);
        ApprovalCheck again = a.check(request("t-1", "GET /customers/7", null));
        assertThat(again.outcome()).isEqualTo(ApprovalCheck.Outcome.PENDING);
        assertThat(again.approval().id()).isNotEqualTo(id);
        // Other arguments were never approved.
        assertThat(a.check(request("t-1", "GET /customers/8", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.PENDING);

        JsonNode granted = records().stream().filter(r -> r.path("event").asText().equals("approval_granted"))
                .findFirst().orElseThrow();
        assertThat(granted.path("actor").asText()).isEqualTo(APPROVER.uri());
        assertThat(granted.path("approval_id").asText()).isEqualTo(id);
        assertThat(granted.path("reason").asText()).isEqualTo("ticket 4711");
    }

    @Test
    void anApprovalEndsWithItsWindowAndNeverOutlivesTheTask() throws Exception {
        Approvals a = approvals(new ApprovalsConfig(null, Duration.ofMinutes(5), 100, null, null));
        String id = a.check(request("t-1", "GET /customers/7", null)).approval().id();
        a.decide(id, true, null, APPROVER);
        clock.advance(Duration.ofMinutes(4));
        assertThat(a.check(request("t-1", "GET /customers/7", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.APPROVED);
        clock.advance(Duration.ofMinutes(1));
        assertThat(a.check(request("t-1", "GET /customers/7", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.PENDING);

        // A task expiring in 2 minutes: its approval waits at most 2 minutes and covers calls at most that long.
        ApprovalRequest shortTask = new ApprovalRequest(AGENT, "t-9", clock.instant().plus(Duration.ofMinutes(2)),
                "p", "crm", "GET /x", null, "agents/crm-read@abc", Map.of());
        Approval p = a.check(shortTask).approval();
        assertThat(p.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(2)));
        assertThat(a.decide(p.id(), true, null, APPROVER).expiresAt()).isEqualTo(shortTask.taskExpiresAt());

        // The task ends: its approvals are gone, pending ones audited as expired.
        String pendingOfT1 = a.pending(null, "t-1").get(0).id();
        a.taskEnded("t-1");
        assertThat(a.pending(null, "t-1")).isEmpty();
        ApprovalException gone = catchThrowableOfType(ApprovalException.class,
                () -> a.decide(pendingOfT1, true, null, APPROVER));
        assertThat(gone.kind()).isEqualTo(ApprovalException.Kind.NOT_FOUND);
        assertThat(records()).anySatisfy(r -> {
            assertThat(r.path("event").asText()).isEqualTo("approval_expired");
            assertThat(r.path("approval_id").asText()).isEqualTo(pendingOfT1);
            assertThat(r.path("reason").asText()).isEqualTo("task t-1 ended");
        });
    }

    @Test
    void aDenialHoldsAndEveryBadDecisionIsRefusedWithItsKind() throws Exception {
        Approvals a = approvals(ApprovalsConfig.defaults());
        String id = a.check(request("t-1", "GET /customers/7", null)).approval().id();

        assertThat(kind(() -> a.decide("apr_000000000000000000000000", true, null, APPROVER)))
                .isEqualTo(ApprovalException.Kind.NOT_FOUND);
        assertThat(kind(() -> a.decide(id, true, "looks fine", AGENT)))
                .isEqualTo(ApprovalException.Kind.PERMISSION_DENIED);
        assertThat(kind(() -> a.decide(id, false, "  ", APPROVER))).isEqualTo(ApprovalException.Kind.INVALID_ARGUMENT);
        assertThat(kind(() -> a.decide(id, false, "x".repeat(1025), APPROVER)))
                .isEqualTo(ApprovalException.Kind.INVALID_ARGUMENT);
        assertThat(a.pending(null, null)).extracting(Approval::id).containsExactly(id);

        Approval denied = a.decide(id, false, "not for this ticket", APPROVER);
        assertThat(denied.state()).isEqualTo(Approval.State.DENIED);
        assertThat(denied.decidedBy()).isEqualTo(APPROVER);
        ApprovalException twice = catchThrowableOfType(ApprovalException.class,
                () -> a.decide(id, true, null, SpiffeId.parse("spiffe://toolgate.test/ops/bob")));
        assertThat(twice.kind()).isEqualTo(ApprovalException.Kind.FAILED_PRECONDITION);
        assertThat(twice.getMessage()).contains("already denied by " + APPROVER.uri());
        clock.advance(Duration.ofMinutes(59));
        ApprovalCheck later = a.check(request("t-1", "GET /customers/7", null));
        assertThat(later.outcome()).isEqualTo(ApprovalCheck.Outcome.DENIED);
        assertThat(later.approval().reason()).isEqualTo("not for this ticket");

        // Undecided past approvals.pendingFor: NOT_FOUND, and audited as expired.
        String stale = a.check(request("t-1", "GET /customers/8", null)).approval().id();
        clock.advance(Duration.ofMinutes(10));
        assertThat(kind(() -> a.decide(stale, true, null, APPROVER))).isEqualTo(ApprovalException.Kind.NOT_FOUND);
        assertThat(records()).anySatisfy(r -> {
            assertThat(r.path("event").asText()).isEqualTo("approval_denied");
            assertThat(r.path("actor").asText()).isEqualTo(APPROVER.uri());
            assertThat(r.path("reason").asText()).isEqualTo("not for this ticket");
        }).anySatisfy(r -> {
            assertThat(r.path("event").asText()).isEqualTo("approval_expired");
            assertThat(r.path("approval_id").asText()).isEqualTo(stale);
            assertThat(r.has("actor")).isFalse();
        });
    }

    @Test
    void aRequestOrDecisionTheTrailCannotTakeFailsClosed() throws Exception {
        Approvals a = approvals(ApprovalsConfig.defaults());
        String id = a.check(request("t-1", "GET /customers/7", null)).approval().id();
        trail.close();
        ApprovalCheck unaudited = a.check(request("t-1", "GET /customers/8", null));
        assertThat(unaudited.outcome()).isEqualTo(ApprovalCheck.Outcome.FAILED);
        assertThat(a.pendingCount()).isEqualTo(1);
        assertThat(kind(() -> a.decide(id, true, null, APPROVER))).isEqualTo(ApprovalException.Kind.UNAVAILABLE);
        // Nothing changed: still pending, so the call is still not forwarded.
        assertThat(a.check(request("t-1", "GET /customers/7", null)).outcome())
                .isEqualTo(ApprovalCheck.Outcome.PENDING);
    }

    private static ApprovalException.Kind kind(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        ApprovalException e = catchThrowableOfType(ApprovalException.class, call);
        assertThat(e).as("refused").isNotNull();
        return e.kind();
    }

    @Test
    void aNewApprovalStartsPendingWithItsWindow_andANullIdIsNotFound() {
        Approvals a = approvals(ApprovalsConfig.defaults());
        Instant before = clock.instant();
        Approval p = a.check(request("t-1", "GET /a", null)).approval();
        assertThat(p.createdAt()).isEqualTo(before);
        assertThat(p.state()).isEqualTo(Approval.State.PENDING);
        assertThat(p.expiresAt()).isEqualTo(before.plus(Duration.ofMinutes(10)));
        assertThat(kind(() -> a.decide(null, true, null, APPROVER))).isEqualTo(ApprovalException.Kind.NOT_FOUND);
    }
}
