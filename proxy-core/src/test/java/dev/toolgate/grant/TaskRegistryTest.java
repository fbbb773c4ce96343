package dev.toolgate.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.testing.ManualClock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The task lifecycle on its own: validation, delegation's subset rule, revocation cascades, journal restart. */
class TaskRegistryTest {
    static final SpiffeId AGENT = SpiffeId.parse("spiffe://toolgate.test/agents/researcher");
    static final SpiffeId HELPER = SpiffeId.parse("spiffe://toolgate.test/agents/helper");
    static final SpiffeId ORCHESTRATOR = SpiffeId.parse("spiffe://toolgate.test/orchestrators/main");
    static final SpiffeId ADMIN = SpiffeId.parse("spiffe://toolgate.test/ops/admin");
    static final TasksConfig CONFIG = new TasksConfig(null, null, Duration.ofMinutes(15), Duration.ofHours(1), 2,
            100);
    static final AccessConfig ACCESS = AccessConfig.defaults()
            .withOrchestrators(List.of("spiffe://toolgate.test/orchestrators/*"))
            .withAdmins(List.of("spiffe://toolgate.test/ops/admin"));

    final ManualClock clock = new ManualClock();
    final List<TaskEvent> audited = new ArrayList<>();

    TaskRegistry registry(TaskStore store) {
        return TaskRegistry.open(CONFIG, ACCESS, store, Set.of("weather", "crm"), clock, clock, (e, t) -> audited.add(e));
    }

    static GrantRequest grant(String route, Long budget, Duration ttl, String... ops) {
        return new GrantRequest(route, List.of(ops), null, budget, ttl);
    }

    static StartRequest start(GrantRequest... grants) {
        return new StartRequest(null, "summarize the weather", Duration.ofMinutes(30), List.of(grants));
    }

    @Test
    void startReturnsATokenWhoseHashIsAllThatIsKeptAndAuditsTheStart() throws Exception {
        TaskRegistry r = registry(new MemoryTaskStore());
        TaskRegistry.Started s = r.start(AGENT, start(grant("weather", 3L, null, "GET /forecast/**")));
        assertThat(s.token()).startsWith("tg1.");
        Task t = s.task().task();
        assertThat(t.tokenHash()).isEqualTo(TaskToken.hash(s.token())).doesNotContain(s.token());
        assertThat(t.subject()).isEqualTo(AGENT);
        assertThat(t.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(30)));
        assertThat(t.grants()).singleElement().satisfies(g -> {
            assertThat(g.id()).isEqualTo("g1");
            assertThat(g.expiresAt()).isEqualTo(t.expiresAt());
        });
        assertThat(r.find(s.token())).isSameAs(s.task());
        assertThat(audited).singleElement().isInstanceOf(TaskEvent.Started.class);
    }

    @Test
    void whatMayNotBeGrantedIsRefusedWithTheReason() {
        TaskRegistry r = registry(new MemoryTaskStore());
        record Case(StartRequest req, String reason) {}
        List<Case> cases = List.of(
                new Case(start(), "grants: none"),
                new Case(start(grant("mail", null, null, "GET /x")), "grants[0].route: \"mail\""),
                new Case(start(grant("weather", null, null)), "grants[0].operations: 0"),
                new Case(start(grant("weather", null, null, "GET x")), "starting with /"),
                new Case(start(grant("weather", 0L, null, "GET /x")), "grants[0].budget: 0"),
                new Case(start(grant("weather", null, Duration.ofHours(2), "GET /x")), "outlives its task"),
                new Case(start(new GrantRequest("weather", List.of("GET /x"), "request.method ==", null, null)),
                        "grants[0].when"),
                new Case(new StartRequest(null, " ", null, List.of(grant("weather", null, null, "GET /x"))),
                        "purpose: missing"),
                new Case(new StartRequest(null, "a\nb", null, List.of(grant("weather", null, null, "GET /x"))),
                        "control characters"),
                new Case(new StartRequest(null, "p", Duration.ofHours(2), List.of(grant("weather", null, null,
                        "GET /x"))), "longer than the maximum task lifetime 1h"));
        for (Case c : cases) {
            assertThatThrownBy(() -> r.start(AGENT, c.req()))
                    .as(c.reason())
                    .isInstanceOfSatisfying(TaskException.class,
                            e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.INVALID_ARGUMENT))
                    .hasMessageContaining(c.reason());
        }
        assertThat(audited).isEmpty();
    }

    @Test
    void onlyOrchestratorsStartTasksForOthers() throws Exception {
        TaskRegistry r = registry(new MemoryTaskStore());
        StartRequest forHelper = new StartRequest(HELPER, "p", null, List.of(grant("weather", null, null, "GET /x")));
        assertThatThrownBy(() -> r.start(AGENT, forHelper))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.PERMISSION_DENIED))
                .hasMessageContaining("access.orchestrators");
        TaskRegistry.Started s = r.start(ORCHESTRATOR, forHelper);
        assertThat(s.task().task().subject()).isEqualTo(HELPER);
        assertThat(s.task().task().startedBy()).isEqualTo(ORCHESTRATOR);
    }

    @Test
    void endIsImmediateAndOnlyForThoseWhoMayManageTheTask() throws Exception {
        TaskRegistry r = registry(new MemoryTaskStore());
        TaskRegistry.Started s = r.start(AGENT, start(grant("weather", null, null, "GET /x")));
        String id = s.task().task().id();
        assertThatThrownBy(() -> r.end(HELPER, id, "not mine"))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.NOT_FOUND));
        r.end(AGENT, id, "done");
        assertThat(r.find(s.token()).state(clock.millis())).isEqualTo(TaskState.ENDED);
        assertThatThrownBy(() -> r.revoke(ADMIN, id, "again"))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.FAILED_PRECONDITION));
        TaskRegistry.Started other = r.start(AGENT, start(grant("weather", null, null, "GET /x")));
        r.revoke(ADMIN, other.task().task().id(), "incident 42");
        assertThat(r.find(other.token()).state(clock.millis())).isEqualTo(TaskState.REVOKED);
    }

    @Test
    void aTaskReadsExpiredOnceItsTimeHasPassed() throws Exception {
        TaskRegistry r = registry(new MemoryTaskStore());
        TaskRegistry.Started s = r.start(AGENT, start(grant("weather", null, null, "GET /x")));
        clock.advance(Duration.ofMinutes(30).minusMillis(1));
        assertThat(r.find(s.token()).state(clock.millis())).isEqualTo(TaskState.ACTIVE);
        clock.advance(Duration.ofMillis(1));
        assertThat(r.find(s.token()).state(clock.millis())).isEqualTo(TaskState.EXPIRED);
        // Forgotten some time after expiry: the token is then simply unknown.
        clock.advance(Duration.ofMinutes(11));
        r.start(AGENT, start(grant("weather", null, null, "GET /x")));
        assertThat(r.find(s.token())).isNull();
    }

    // ---- delegation ----------------------------------------------------------------------------------------

    @Test
    void aChildCannotExceedItsParentInAnyDimension() throws Exception {
        TaskRegistry r = registry(new MemoryTaskStore());
        TaskRegistry.Started parent = r.start(AGENT, new StartRequest(null, "research", Duration.ofMinutes(30),
                List.of(grant("weather", 10L, Duration.ofMinutes(20), "GET /forecast/**"))));
        record Case(StartRequest req, String reason) {}
        List<Case> cases = List.of(
                new Case(delegate(null, grant("crm", 1L, null, "GET /x")), "no live grant on route crm"),
                new Case(delegate(null, grant("weather", 1L, null, "GET /alerts")),
                        "operation \"GET /alerts\" is not within the parent's g1"),
                new Case(delegate(null, grant("weather", 1L, null, "* /forecast/oslo")),
                        "operation \"* /forecast/oslo\" is not within"),
                new Case(delegate(null, grant("weather", 11L, null, "GET /forecast/oslo")),
                        "budget: 11 exceeds the 10 calls left"),
                new Case(delegate(null, grant("weather", null, null, "GET /forecast/oslo")),
                        "budget: unlimited, but the parent's g1 has 10 calls left"),
                new Case(delegate(null, grant("weather", 1L, Duration.ofMinutes(25), "GET /forecast/oslo")),
                        "outlives its task"),
                new Case(delegate(Duration.ofMinutes(31), grant("weather", 1L, null, "GET /forecast/oslo")),
                        "outlives the parent task"),
                new Case(new StartRequest(null, "p", null, List.of(grant("weather", 1L, null, "GET /forecast"))),
                        "agent: missing"));
        for (Case c : cases) {
            assertThatThrownBy(() -> r.delegate(AGENT, parent.token(), c.req()))
                    .as(c.reason())
                    .isInstanceOf(TaskException.class)
                    .hasMessageContaining(c.reason());
        }
        // Within every dimension: allowed; the child lives the default 15 minutes, inside the parent grant's 20.
        TaskRegistry.Started child = r.delegate(AGENT, parent.token(),
                delegate(null, grant("weather", 4L, null, "GET /forecast/oslo")));
        Task c = child.task().task();
        assertThat(c.parentId()).isEqualTo(parent.task().task().id());
        assertThat(c.depth()).isEqualTo(1);
        assertThat(c.subject()).isEqualTo(HELPER);
        assertThat(c.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(15)));
        assertThat(c.grants().get(0).expiresAt()).isEqualTo(c.expiresAt());
        // Asking for a task as long as the parent's, the grant is capped at the parent grant's expiry.
        TaskRegistry.Started longer = r.delegate(AGENT, parent.token(),
                delegate(Duration.ofMinutes(30), grant("weather", 1L, null, "GET /forecast/oslo")));
        assertThat(longer.task().task().grants().get(0).expiresAt())
                .isEqualTo(parent.task().task().grants().get(0).expiresAt());
        // Only the parent's subject may delegate it; a stolen parent token is useless.
        assertThatThrownBy(() -> r.delegate(HELPER, parent.token(),
                delegate(null, grant("weather", 1L, null, "GET /forecast/oslo"))))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.PERMISSION_DENIED));
    }

    private static StartRequest delegate(Duration ttl, GrantRequest g) {
        return new StartRequest(HELPER, "fetch the forecast", ttl, List.of(g));
    }

    @Test
    void delegationDepthIsLimited() throws Exception {
        TaskRegistry r = registry(new MemoryTaskStore());
        TaskRegistry.Started t = r.start(AGENT, start(grant("weather", null, null, "GET /**")));
        SpiffeId holder = AGENT;
        for (int depth = 1; depth <= CONFIG.maxDelegationDepth(); depth++) {
            SpiffeId next = SpiffeId.parse("spiffe://toolgate.test/agents/d" + depth);
            t = r.delegate(holder, t.token(), new StartRequest(next, "p", null,
                    List.of(grant("weather", null, null, "GET /**"))));
            holder = next;
        }
        SpiffeId last = holder;
        String token = t.token();
        assertThatThrownBy(() -> r.delegate(last, token, new StartRequest(AGENT, "p", null,
                List.of(grant("weather", null, null, "GET /**")))))
                .hasMessageContaining("delegation depth 3 exceeds the maximum 2");
    }

    @Test
    void endingOrRevokingTheParentEndsEveryDescendant() throws Exception {
        TaskRegistry r = registry(new MemoryTaskStore());
        TaskRegistry.Started parent = r.start(AGENT, start(grant("weather", null, null, "GET /**")));
        TaskRegistry.Started child = r.delegate(AGENT, parent.token(),
                delegate(null, grant("weather", null, null, "GET /forecast")));
        TaskRegistry.Started grandchild = r.delegate(HELPER, child.token(), new StartRequest(
                SpiffeId.parse("spiffe://toolgate.test/agents/intern"), "p", null,
                List.of(grant("weather", null, null, "GET /forecast"))));
        List<String> ended = new ArrayList<>();
        r.onEnded(t -> ended.add(t.id()));
        r.end(AGENT, parent.task().task().id(), "done");
        assertThat(r.find(child.token()).state(clock.millis())).isEqualTo(TaskState.REVOKED);
        assertThat(r.find(grandchild.token()).state(clock.millis())).isEqualTo(TaskState.REVOKED);
        assertThat(ended).containsExactly(parent.task().task().id(), child.task().task().id(),
                grandchild.task().task().id());
    }

    @Test
    void revokingAParentGrantRevokesWhatChildrenHoldOnlyThroughIt() throws Exception {
        TaskRegistry r = registry(new MemoryTaskStore());
        TaskRegistry.Started parent = r.start(AGENT, start(grant("weather", null, null, "GET /forecast/**"),
                grant("weather", null, null, "GET /alerts")));
        TaskRegistry.Started child = r.delegate(AGENT, parent.token(), new StartRequest(HELPER, "p", null, List.of(
                grant("weather", null, null, "GET /forecast/oslo"), grant("weather", null, null, "GET /alerts"))));
        r.revokeGrant(AGENT, parent.task().task().id(), "g1", "too broad");
        assertThat(parent.task().grant("g1").revoked()).isTrue();
        assertThat(child.task().grant("g1").revoked()).isTrue();
        assertThat(child.task().grant("g2").revoked()).isFalse();
        assertThat(audited).last().isInstanceOf(TaskEvent.GrantRevoked.class);
    }

    @Test
    void aStartThatCannotBeAuditedStartsNothing() {
        TaskRegistry r = TaskRegistry.open(CONFIG, ACCESS, new MemoryTaskStore(), Set.of("weather"), clock, clock,
                (e, t) -> false);
        assertThatThrownBy(() -> r.start(AGENT, start(grant("weather", null, null, "GET /x"))))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.UNAVAILABLE))
                .hasMessageContaining("ERROR_FAIL_CLOSED");
        assertThat(r.list(ADMIN, null, null)).isEmpty();
    }

    @Test
    void theMaximumNumberOfTasksIsEnforced() throws Exception {
        TasksConfig small = new TasksConfig(null, null, null, null, null, 2);
        TaskRegistry r = TaskRegistry.open(small, ACCESS, new MemoryTaskStore(), Set.of("weather"), clock, clock,
                TaskAudit.NONE);
        r.start(AGENT, start(grant("weather", null, null, "GET /x")));
        r.start(AGENT, start(grant("weather", null, null, "GET /x")));
        assertThatThrownBy(() -> r.start(AGENT, start(grant("weather", null, null, "GET /x"))))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.RESOURCE_EXHAUSTED));
    }

    // ---- restart -------------------------------------------------------------------------------------------

    @Test
    void aJournalRestoresTasksRevocationsAndDelegationsExactly(@TempDir Path dir) throws Exception {
        Path journal = dir.resolve("tasks.journal");
        String parentToken;
        String childToken;
        String endedToken;
        String parentId;
        try (TaskRegistry r = registry(JournalTaskStore.open(journal, JournalTaskStore.FsyncPolicy.ALWAYS))) {
            TaskRegistry.Started parent = r.start(AGENT, start(grant("weather", 5L, null, "GET /forecast/**"),
                    grant("crm", null, null, "GET /customers/*")));
            TaskRegistry.Started child = r.delegate(AGENT, parent.token(),
                    delegate(null, grant("weather", 2L, null, "GET /forecast/oslo")));
            TaskRegistry.Started ended = r.start(AGENT, start(grant("weather", null, null, "GET /x")));
            r.revokeGrant(AGENT, parent.task().task().id(), "g2", "no crm");
            r.end(AGENT, ended.task().task().id(), "done");
            parentToken = parent.token();
            childToken = child.token();
            endedToken = ended.token();
            parentId = parent.task().task().id();
        }
        try (TaskRegistry r = registry(JournalTaskStore.open(journal, JournalTaskStore.FsyncPolicy.ALWAYS))) {
            LiveTask parent = r.find(parentToken);
            assertThat(parent.task().id()).isEqualTo(parentId);
            assertThat(parent.state(clock.millis())).isEqualTo(TaskState.ACTIVE);
            assertThat(parent.grant("g1").revoked()).isFalse();
            assertThat(parent.grant("g2").revoked()).isTrue();
            assertThat(r.find(childToken).task().parentId()).isEqualTo(parentId);
            assertThat(r.find(endedToken).state(clock.millis())).isEqualTo(TaskState.ENDED);
            // The restored parent still cascades.
            r.revoke(ADMIN, parentId, "incident");
            assertThat(r.find(childToken).state(clock.millis())).isEqualTo(TaskState.REVOKED);
        }
    }
}
