package dev.toolgate.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.call.Call;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.common.Protocol;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.MemoryTaskStore;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskAudit;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The decision on its own: no sockets, a clock moved by hand. */
class AuthorizerTest {
    static final SpiffeId AGENT = SpiffeId.parse("spiffe://toolgate.test/agents/researcher");
    static final SpiffeId OTHER = SpiffeId.parse("spiffe://toolgate.test/agents/other");

    final ManualClock clock = new ManualClock();
    final TaskRegistry tasks = TaskRegistry.open(TasksConfig.defaults(), AccessConfig.defaults(), new MemoryTaskStore(),
            Set.of("weather", "crm"), clock, clock, TaskAudit.NONE);
    final Authorizer authz = new Authorizer(tasks);

    String start(Long budget, String... ops) throws Exception {
        return tasks.start(AGENT, new StartRequest(null, "p", Duration.ofMinutes(10),
                List.of(new GrantRequest("weather", List.of(ops), null, budget, null)))).token();
    }

    Decision call(SpiffeId agent, String token, String route, String method, String path) {
        return authz.decide(new Call(agent, token, route, Protocol.HTTP, method, path));
    }

    @Test
    void eachRuleDeniesWithItsOwnCode() throws Exception {
        String token = start(null, "GET /forecast/**");
        assertThat(call(AGENT, null, "weather", "GET", "/forecast").code()).isEqualTo(DecisionCode.DENY_NO_TASK);
        assertThat(call(AGENT, "tg1.nope", "weather", "GET", "/forecast").code()).isEqualTo(DecisionCode.DENY_NO_TASK);
        assertThat(call(AGENT, "tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "weather", "GET", "/forecast").code())
                .isEqualTo(DecisionCode.DENY_NO_TASK);
        assertThat(call(OTHER, token, "weather", "GET", "/forecast"))
                .satisfies(d -> {
                    assertThat(d.code()).isEqualTo(DecisionCode.DENY_IDENTITY_MISMATCH);
                    assertThat(d.reason()).contains("probable stolen token").doesNotContain(token);
                });
        assertThat(call(AGENT, token, "weather", "POST", "/forecast").code()).isEqualTo(DecisionCode.DENY_NO_GRANT);
        assertThat(call(AGENT, token, "weather", "GET", "/alerts").code()).isEqualTo(DecisionCode.DENY_NO_GRANT);
        assertThat(call(AGENT, token, "crm", "GET", "/forecast").code()).isEqualTo(DecisionCode.DENY_NO_GRANT);
        Decision allowed = call(AGENT, token, "weather", "GET", "/forecast/oslo");
        assertThat(allowed).isInstanceOfSatisfying(Decision.Allow.class,
                a -> assertThat(a.grant().id()).isEqualTo("g1"));
        for (Decision d : List.of(allowed, call(AGENT, token, "weather", "GET", "/x"))) {
            assertThat(d.reason()).doesNotContain(token);
        }
    }

    @Test
    void conditionsSeeHowTheIdentityWasProven() throws Exception {
        String token = tasks.start(AGENT, new StartRequest(null, "p", Duration.ofMinutes(10),
                List.of(new GrantRequest("weather", List.of("GET /**"), "agent.proof == 'x509'", null, null))))
                .token();
        assertThat(authz.decide(new Call(AGENT, token, "weather", Protocol.HTTP, "GET", "/x", null,
                IdentityProof.X509)).code()).isEqualTo(DecisionCode.ALLOW);
        Decision byJwt = authz.decide(new Call(AGENT, token, "weather", Protocol.HTTP, "GET", "/x", null,
                IdentityProof.JWT));
        assertThat(byJwt.code()).isEqualTo(DecisionCode.DENY_CONDITION);
        assertThat(byJwt.reason()).contains("agent.proof == 'x509'");
    }

    @Test
    void endedExpiredAndRevokedTasksStopOnTheNextCall() throws Exception {
        String ended = start(null, "GET /**");
        String expiring = start(null, "GET /**");
        String grantRevoked = start(null, "GET /**");
        tasks.end(AGENT, tasks.find(ended).task().id(), "done");
        assertThat(call(AGENT, ended, "weather", "GET", "/x").code()).isEqualTo(DecisionCode.DENY_TASK_ENDED);
        tasks.revokeGrant(AGENT, tasks.find(grantRevoked).task().id(), "g1", "");
        assertThat(call(AGENT, grantRevoked, "weather", "GET", "/x").code()).isEqualTo(DecisionCode.DENY_NO_GRANT);
        assertThat(call(AGENT, expiring, "weather", "GET", "/x").code()).isEqualTo(DecisionCode.ALLOW);
        clock.advance(Duration.ofMinutes(10));
        assertThat(call(AGENT, expiring, "weather", "GET", "/x").code()).isEqualTo(DecisionCode.DENY_TASK_EXPIRED);
        // A stolen token of an ended task says nothing about the task's state to its holder.
        assertThat(call(OTHER, ended, "weather", "GET", "/x").code()).isEqualTo(DecisionCode.DENY_IDENTITY_MISMATCH);
    }

    @Test
    void theCallAfterTheBudgetIsDenied() throws Exception {
        String token = start(3L, "GET /**");
        for (int i = 0; i < 3; i++) {
            assertThat(call(AGENT, token, "weather", "GET", "/x").code()).isEqualTo(DecisionCode.ALLOW);
        }
        assertThat(call(AGENT, token, "weather", "GET", "/x"))
                .satisfies(d -> assertThat(d.code()).isEqualTo(DecisionCode.DENY_BUDGET))
                .satisfies(d -> assertThat(d.reason()).contains("g1").contains("budget 3"));
    }

    @Test
    void aSecondGrantWithBudgetLeftStillAllows() throws Exception {
        String token = tasks.start(AGENT, new StartRequest(null, "p", null, List.of(
                new GrantRequest("weather", List.of("GET /**"), null, 1L, null),
                new GrantRequest("weather", List.of("GET /forecast"), null, 1L, null)))).token();
        assertThat(call(AGENT, token, "weather", "GET", "/forecast")).isInstanceOfSatisfying(Decision.Allow.class,
                a -> assertThat(a.grant().id()).isEqualTo("g1"));
        assertThat(call(AGENT, token, "weather", "GET", "/forecast")).isInstanceOfSatisfying(Decision.Allow.class,
                a -> assertThat(a.grant().id()).isEqualTo("g2"));
        assertThat(call(AGENT, token, "weather", "GET", "/forecast").code()).isEqualTo(DecisionCode.DENY_BUDGET);
    }

    @Test
    void concurrentCallsNeverOverspendABudget() throws Exception {
        int budget = 1000;
        int threads = 8;
        int callsPerThread = 500;
        String token = start((long) budget, "GET /**");
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> allowed = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                allowed.add(pool.submit(() -> {
                    go.await();
                    int n = 0;
                    for (int i = 0; i < callsPerThread; i++) {
                        if (call(AGENT, token, "weather", "GET", "/x") instanceof Decision.Allow) {
                            n++;
                        }
                    }
                    return n;
                }));
            }
            go.countDown();
            int total = 0;
            for (Future<Integer> f : allowed) {
                total += f.get();
            }
            assertThat(total).isEqualTo(budget);
            assertThat(tasks.find(token).grant("g1").remaining()).isZero();
        } finally {
            pool.shutdownNow();
        }
    }
}
