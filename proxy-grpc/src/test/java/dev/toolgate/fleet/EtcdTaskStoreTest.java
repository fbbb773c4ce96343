package dev.toolgate.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.EtcdConfig;
import dev.toolgate.config.TasksConfig;
import dev.toolgate.fleet.etcd.api.CompactionRequest;
import dev.toolgate.fleet.etcd.api.KeyValue;
import dev.toolgate.fleet.etcd.api.LeaseTimeToLiveRequest;
import dev.toolgate.fleet.etcd.api.RangeRequest;
import dev.toolgate.fleet.etcd.api.RangeResponse;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskAudit;
import dev.toolgate.grant.TaskException;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.grant.TaskState;
import dev.toolgate.grant.TaskToken;
import dev.toolgate.identity.SpiffeId;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the store contract does not cover: two sidecars (two registries, each with its own store) on one real etcd
 * see each other's starts and revocations; a sidecar cut off etcd, or whose etcd restarts, misses nothing once back,
 * even when etcd compacted the history it missed; it reports itself unhealthy while cut off; keys carry the task's
 * lease and no token.
 */
class EtcdTaskStoreTest {
    @RegisterExtension
    static final EtcdExtension ETCD = new EtcdExtension(1);

    private static final SpiffeId AGENT = SpiffeId.parse("spiffe://toolgate.test/agents/researcher");
    private static final SpiffeId HELPER = SpiffeId.parse("spiffe://toolgate.test/agents/helper");
    private static final SpiffeId ADMIN = SpiffeId.parse("spiffe://toolgate.test/ops/admin");
    private static final AccessConfig ACCESS = AccessConfig.defaults()
            .withAdmins(List.of("spiffe://toolgate.test/ops/admin"));
    private static final Duration PROGRESS = Duration.ofMillis(100);
    private static final Duration WITHIN = Duration.ofSeconds(10);

    private final String prefix = ETCD.prefix();
    private final List<AutoCloseable> opened = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
    }

    private EtcdConfig config(List<String> endpoints) {
        return EtcdConfig.defaults().withEndpoints(endpoints).withPrefix(prefix);
    }

    /** A sidecar's task registry over its own store, through {@code endpoint}. */
    private TaskRegistry sidecar(String endpoint) throws IOException {
        EtcdTaskStore store = EtcdTaskStore.open(config(List.of(endpoint)), Ticker.systemTicker(), PROGRESS,
                Duration.ofSeconds(5));
        TaskRegistry r = TaskRegistry.open(TasksConfig.defaults(), ACCESS, store, Set.of("weather", "crm"),
                Clock.systemUTC(), Ticker.systemTicker(), TaskAudit.NONE);
        opened.add(r);
        return r;
    }

    private static StartRequest start() {
        return new StartRequest(null, "summarize the weather", Duration.ofMinutes(30), List.of(
                new GrantRequest("weather", List.of("GET /forecast/**"), null, null, null),
                new GrantRequest("crm", List.of("GET /customers/*"), null, null, null)));
    }

    private static TaskState state(TaskRegistry r, String token) {
        LiveTask t = r.find(token);
        return t == null ? null : t.state(System.currentTimeMillis());
    }

    private static boolean holds(TaskRegistry r, String token, String route, String op) {
        LiveTask t = r.find(token);
        return t != null && t.state(System.currentTimeMillis()) == TaskState.ACTIVE
                && t.holds(route, op, System.currentTimeMillis());
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WITHIN.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + WITHIN + ": " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void twoSidecarsSeeEachOthersStartsDelegationsAndRevocations() throws Exception {
        TaskRegistry a = sidecar(ETCD.cluster().endpoint(0));
        TaskRegistry b = sidecar(ETCD.cluster().endpoint(0));

        TaskRegistry.Started t = a.start(AGENT, start());
        await("B finds the task started at A", () -> holds(b, t.token(), "weather", "GET /forecast/oslo"));
        TaskRegistry.Started child = b.delegate(AGENT, t.token(), new StartRequest(HELPER, "oslo only", null,
                List.of(new GrantRequest("weather", List.of("GET /forecast/oslo"), null, null, null))));
        await("A finds the task delegated at B", () -> holds(a, child.token(), "weather", "GET /forecast/oslo"));

        a.revokeGrant(AGENT, t.task().task().id(), "g2", "no crm");
        assertThat(holds(a, t.token(), "crm", "GET /customers/42")).isFalse();
        await("B drops the grant revoked at A", () -> !holds(b, t.token(), "crm", "GET /customers/42"));
        assertThat(holds(b, t.token(), "weather", "GET /forecast/oslo")).isTrue();

        b.revoke(ADMIN, t.task().task().id(), "incident");
        assertThat(state(b, t.token())).isEqualTo(TaskState.REVOKED); // at once where it was revoked
        await("A refuses the task revoked at B", () -> state(a, t.token()) == TaskState.REVOKED);
        assertThat(state(a, child.token())).isEqualTo(TaskState.REVOKED); // the cascade, from the one event
    }

    @Test
    void aSidecarCutOffEtcdIsUnhealthyAndMissesNothingOnceBack() throws Exception {
        try (TcpRelay link = TcpRelay.to(ETCD.cluster().endpoint(0))) {
            TaskRegistry a = sidecar(link.endpoint());
            TaskRegistry b = sidecar(ETCD.cluster().endpoint(0));
            TaskRegistry.Started t1 = b.start(AGENT, start());
            TaskRegistry.Started t2 = b.start(AGENT, start());
            await("A finds both tasks", () -> state(a, t1.token()) != null && state(a, t2.token()) != null);

            link.cut();
            await("A reports its store unhealthy while cut off", () -> !a.storeHealthy());
            assertThatThrownBy(() -> a.start(AGENT, start())).isInstanceOfSatisfying(TaskException.class,
                    e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.UNAVAILABLE));
            b.revoke(ADMIN, t1.task().task().id(), "incident");
            b.revokeGrant(AGENT, t2.task().task().id(), "g1", "no weather");
            TaskRegistry.Started t3 = b.start(AGENT, start());
            assertThat(state(a, t1.token())).isEqualTo(TaskState.ACTIVE); // A cannot know yet

            link.restore();
            await("A applies every change made while it was cut off", () -> state(a, t1.token()) == TaskState.REVOKED
                    && !holds(a, t2.token(), "weather", "GET /forecast/oslo") && state(a, t3.token()) != null);
            await("A reports its store healthy again", a::storeHealthy);
            assertThat(holds(a, t2.token(), "crm", "GET /customers/42")).isTrue();
        }
    }

    @Test
    void historyCompactedWhileASidecarWasAwayIsReadFromTheKeys() throws Exception {
        try (TcpRelay link = TcpRelay.to(ETCD.cluster().endpoint(0));
             EtcdClient admin = EtcdClient.open(config(ETCD.cluster().endpoints()))) {
            TaskRegistry a = sidecar(link.endpoint());
            TaskRegistry b = sidecar(ETCD.cluster().endpoint(0));
            TaskRegistry.Started t1 = b.start(AGENT, start());
            await("A finds the task", () -> state(a, t1.token()) != null);

            link.cut();
            await("A reports its store unhealthy while cut off", () -> !a.storeHealthy());
            b.revoke(ADMIN, t1.task().task().id(), "incident");
            TaskRegistry.Started t2 = b.start(AGENT, start());
            long now = admin.kv().range(RangeRequest.newBuilder().setKey(com.google.protobuf.ByteString
                    .copyFromUtf8(prefix)).build()).getHeader().getRevision();
            admin.kv().compact(CompactionRequest.newBuilder().setRevision(now).setPhysical(true).build());

            link.restore();
            await("A applies what it missed although etcd compacted it",
                    () -> state(a, t1.token()) == TaskState.REVOKED && holds(a, t2.token(), "weather", "GET /x/y")
                            == holds(b, t2.token(), "weather", "GET /x/y") && state(a, t2.token()) != null);
            await("A reports its store healthy again", a::storeHealthy);

            // And the watch goes on after the reload.
            b.end(AGENT, t2.task().task().id(), "done");
            await("A sees the next change", () -> state(a, t2.token()) == TaskState.ENDED);
        }
    }

    @Test
    void aRestartedEtcdIsFollowedAgainFromTheLastRevision() throws Exception {
        TaskRegistry a = sidecar(ETCD.cluster().endpoint(0));
        TaskRegistry b = sidecar(ETCD.cluster().endpoint(0));
        TaskRegistry.Started t = a.start(AGENT, start());
        await("B finds the task", () -> state(b, t.token()) == TaskState.ACTIVE);

        ETCD.cluster().kill(0);
        await("both report their store unhealthy while etcd is down", () -> !a.storeHealthy() && !b.storeHealthy());
        assertThatThrownBy(() -> b.revoke(ADMIN, t.task().task().id(), "incident"))
                .isInstanceOfSatisfying(TaskException.class,
                        e -> assertThat(e.kind()).isEqualTo(TaskException.Kind.UNAVAILABLE));
        assertThat(state(b, t.token())).isEqualTo(TaskState.REVOKED); // a revocation never waits for the store

        ETCD.cluster().restart(0);
        await("both report their store healthy again", () -> a.storeHealthy() && b.storeHealthy());
        TaskRegistry.Started t2 = b.start(AGENT, start());
        a.end(AGENT, t.task().task().id(), "done");
        await("A and B see each other's changes after the restart", () -> state(a, t2.token()) == TaskState.ACTIVE
                && state(b, t.token()) == TaskState.REVOKED);
    }

    @Test
    void aTasksKeysCarryItsLeaseAndNoToken() throws Exception {
        TaskRegistry a = sidecar(ETCD.cluster().endpoint(0));
        TaskRegistry.Started t = a.start(AGENT, start());
        try (EtcdClient admin = EtcdClient.open(config(ETCD.cluster().endpoints()))) {
            EtcdKeys keys = new EtcdKeys(prefix);
            RangeResponse all = admin.kv().range(RangeRequest.newBuilder().setKey(com.google.protobuf.ByteString
                    .copyFromUtf8(prefix)).setRangeEnd(EtcdKeys.rangeEnd(com.google.protobuf.ByteString
                    .copyFromUtf8(prefix))).build());
            assertThat(all.getKvsList()).extracting(kv -> kv.getKey().toStringUtf8()).containsExactlyInAnyOrder(
                    keys.seq().toStringUtf8(), keys.event(1).toStringUtf8(),
                    keys.task(t.task().task().id()).toStringUtf8(),
                    keys.token(TaskToken.hash(t.token())).toStringUtf8());
            for (KeyValue kv : all.getKvsList()) {
                assertThat(kv.getKey().toStringUtf8() + kv.getValue().toStringUtf8()).doesNotContain(t.token());
                if (!kv.getKey().equals(keys.seq())) {
                    long ttl = admin.lease().leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder()
                            .setID(kv.getLease()).build()).getGrantedTTL();
                    // The task's 30 minutes and the 10 it is remembered after expiry.
                    assertThat(ttl).as("lease of " + kv.getKey().toStringUtf8()).isEqualTo(40 * 60);
                }
            }
        }
    }
}
