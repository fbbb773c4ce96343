package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.toolgate.audit.AuditRecord;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.audit.TaskLifecycleAudit;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.JournalTaskStore;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.FailingAuditSink;
import dev.toolgate.testing.ManualClock;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readiness (what {@code /readyz} and gRPC health report) follows what the sidecar needs to do its job: its own SVID
 * still valid, the task store taking changes, the audit trail open, the data plane listening. Real parts: the
 * sidecar, the journal store and the audit trail; time moved by hand.
 */
class ReadinessTest {
    @TempDir
    Path dir;

    @Test
    void readinessFollowsTheSvidTheTaskStoreAndTheAuditTrail() throws Exception {
        TestPki pki = TestPki.create(dir);
        SidecarConfig config = Sidecar.config(List.<RouteConfig>of());
        FailingAuditSink disk = new FailingAuditSink();
        AuditTrail audit = AuditTrail.start(disk, null, 1_000);
        TaskRegistry tasks = TaskRegistry.open(config.tasks(), config.access(),
                JournalTaskStore.open(dir.resolve("tasks.journal"), JournalTaskStore.FsyncPolicy.ALWAYS),
                config.routes().stream().map(RouteConfig::name).collect(Collectors.toSet()), Clock.systemUTC(),
                Ticker.systemTicker(), new TaskLifecycleAudit(audit, Clock.systemUTC(), Duration.ofSeconds(2)));
        TlsMaterial tls = pki.sidecarTls();
        ManualClock clock = new ManualClock(Instant.now());
        try (ProxyServer server = Sidecar.builder(pki, config).audit(audit).tasks(tasks).build()) {
            Readiness ready = new Readiness(server, audit, tls, tasks, null, clock);
            assertThat(ready.getAsBoolean()).as("%s", ready.failing()).isTrue();

            // A SPIRE agent that stopped rotating the sidecar's SVID: not ready once it has expired.
            Instant notAfter = tls.svid().leaf().getNotAfter().toInstant();
            clock.advance(Duration.between(clock.instant(), notAfter).plusSeconds(1));
            assertThat(ready.getAsBoolean()).isFalse();
            assertThat(ready.failing()).singleElement().asString().startsWith("own SVID expired at");
            ready = new Readiness(server, audit, tls, tasks, null, Clock.systemUTC());
            assertThat(ready.getAsBoolean()).isTrue();

            // A full disk: not ready while the audit file cannot be written, ready again once it can.
            disk.fail();
            audit.offer(AuditRecord.decision(Instant.now(), "d1", null, null, TestPki.AGENT.uri(), "weather",
                    "http", "GET /x", "deny", "DENY_POLICY", "test", "enforce", 1));
            Await.until("the sink failed", () -> !audit.available());
            assertThat(ready.failing()).singleElement().asString().startsWith("audit sink failing");
            assertThat(ready.getAsBoolean()).isFalse();
            disk.recover();
            Await.until("the sink writes again", audit::available);
            assertThat(ready.getAsBoolean()).isTrue();

            tasks.close();
            assertThat(ready.failing()).containsExactly("task store does not take changes");
            audit.close();
            assertThat(ready.failing()).containsExactly("audit trail closed", "task store does not take changes");
            assertThat(ready.getAsBoolean()).isFalse();
        }
    }
}
