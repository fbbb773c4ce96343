package dev.toolgate.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.EtcdConfig;
import dev.toolgate.config.FleetConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two whole sidecars (data plane, decisions, audit) with {@code tasks.store: etcd} on one real etcd, as the runnable
 * sidecar assembles them ({@link FleetTaskStores}): a task started at sidecar A is honoured at sidecar B, revoked at
 * A it is denied at B; B cut off etcd keeps deciding within {@code fleet.maxStaleness}, then denies every call
 * {@code ERROR_FAIL_CLOSED} naming the store and reports not ready, and serves again once etcd is back.
 */
class FleetSidecarsTest {
    @RegisterExtension
    static final EtcdExtension ETCD = new EtcdExtension(1);
    private static final Duration MAX_STALENESS = Duration.ofMillis(800);

    @TempDir
    static Path dir;
    static TestPki pki;
    static TestUpstream upstream;
    static TcpRelay linkB;
    static ProxyServer a;
    static ProxyServer b;
    static final ProxyMetrics METRICS_B = ProxyMetrics.create();
    static HttpClient agent;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        upstream = TestUpstream.start();
        linkB = TcpRelay.to(ETCD.cluster().endpoint(0));
        String prefix = ETCD.prefix();
        a = sidecar(ETCD.cluster().endpoint(0), prefix, ProxyMetrics.create());
        b = sidecar(linkB.endpoint(), prefix, METRICS_B);
        agent = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
    }

    private static ProxyServer sidecar(String endpoint, String prefix, ProxyMetrics metrics) throws Exception {
        SidecarConfig config = Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url())))
                .withEtcd(EtcdConfig.defaults().withEndpoints(List.of(endpoint)).withPrefix(prefix))
                .withFleet(new FleetConfig(MAX_STALENESS));
        return Sidecar.builder(pki, config).taskStores(FleetTaskStores.all()).metrics(metrics)
                .audit(AuditTrail.start(new MemoryAuditSink(), null, 10_000)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {b, a, linkB, upstream}) {
            if (c != null) {
                c.close();
            }
        }
    }

    private static String startAtA() throws Exception {
        return a.tasks().start(TestPki.AGENT, new StartRequest(null, "weather report", Duration.ofMinutes(10),
                List.of(new GrantRequest("weather", List.of("GET /**"), null, null, null)))).token();
    }

    private static HttpResponse<String> callB(String token) throws Exception {
        return agent.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + b.port() + "/api/weather/oslo"))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> awaitAtB(String token, Predicate<HttpResponse<String>> until)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        HttpResponse<String> r = callB(token);
        while (!until.test(r)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("sidecar B still answers " + r.statusCode() + " " + r.body());
            }
            Thread.sleep(10);
            r = callB(token);
        }
        return r;
    }

    @Test
    void aTaskStartedAtOneSidecarWorksAtAnotherUntilItIsRevokedThere() throws Exception {
        String token = startAtA();
        awaitAtB(token, r -> r.statusCode() == 200);

        String id = a.tasks().find(token).task().id();
        a.tasks().revoke(TestPki.AGENT, id, "done with it");
        HttpResponse<String> denied = awaitAtB(token, r -> r.statusCode() == 403);
        assertThat(denied.body()).contains("\"code\":\"DENY_TASK_ENDED\"").contains(id + " is revoked");
    }

    @Test
    void aSidecarCutOffEtcdFailsClosedPastItsStalenessBoundAndRecovers() throws Exception {
        String token = startAtA();
        awaitAtB(token, r -> r.statusCode() == 200);
        TaskRegistry tasksB = b.tasks();
        try {
            linkB.cut();
            HttpResponse<String> closed = awaitAtB(token, r -> r.statusCode() == 503);
            assertThat(closed.body()).contains("\"code\":\"ERROR_FAIL_CLOSED\"")
                    .contains("task store etcd " + linkB.endpoint()).contains("fleet.maxStaleness 800 ms");
            assertThat(b.readiness().failing()).anySatisfy(f -> assertThat(f).contains("its view is"));
            assertThat(tasksB.staleness()).isNotNull();
            assertThat(METRICS_B.scrape()).contains("toolgate_tasks_store_stale 1.0");
            assertThat(a.readiness().failing()).isEmpty(); // A still reaches etcd
        } finally {
            linkB.restore();
        }
        awaitAtB(token, r -> r.statusCode() == 200);
        assertThat(b.readiness().failing()).isEmpty();
        assertThat(METRICS_B.scrape()).contains("toolgate_tasks_store_stale 0.0");
    }
}
