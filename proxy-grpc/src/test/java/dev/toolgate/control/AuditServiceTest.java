package dev.toolgate.control;

import static dev.toolgate.control.ControlFixture.ADMIN;
import static dev.toolgate.control.ControlFixture.AGENT;
import static dev.toolgate.control.ControlFixture.AUDITOR;
import static dev.toolgate.control.ControlFixture.OTHER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.testing.Await;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.api.v1.AuditRecord;
import dev.toolgate.api.v1.AuditServiceGrpc;
import dev.toolgate.api.v1.EndTaskRequest;
import dev.toolgate.api.v1.StartTaskResponse;
import dev.toolgate.api.v1.TailRequest;
import dev.toolgate.api.v1.TailResponse;
import dev.toolgate.identity.Svid;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AuditService.Tail over real mTLS against a sidecar whose data plane writes the records: who may tail, filters
 * applied on the server, records equal to the audit file's lines, and a subscriber that stops reading receives an
 * overflow notice while every record stays in the file and other subscribers miss nothing.
 */
class AuditServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FLOOD = "spiffe://toolgate.test/agents/flood";

    @TempDir
    static Path dir;
    static ControlFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = ControlFixture.start(dir);
    }

    @AfterAll
    static void stop() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void onlyTaskAdminsAndAuditorsMayTail() throws Exception {
        TailClient agent = TailClient.open(f.tail(AGENT), TailRequest.getDefaultInstance());
        Status refused = agent.status();
        assertThat(refused.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(refused.getDescription()).contains(AGENT.uri(), "access.admins", "access.auditors");

        int before = f.control.tailSubscribers();
        TailClient admin = TailClient.open(f.tail(ADMIN), TailRequest.newBuilder().setAgent(OTHER.uri()).build());
        TailClient auditor = TailClient.open(f.tail(AUDITOR), TailRequest.newBuilder().setAgent(OTHER.uri()).build());
        await(() -> f.control.tailSubscribers(), before + 2);
        StartTaskResponse s = f.start(OTHER, "watched", "GET /forecast/*");
        assertThat(admin.records(1).get(0).getEvent()).isEqualTo("start");
        assertThat(auditor.records(1).get(0).getTaskId()).isEqualTo(s.getTask().getTaskId());
        admin.cancel();
        auditor.cancel();
        // Cancelling unsubscribes: the writer stops handing records to them.
        await(() -> f.control.tailSubscribers(), before);
    }

    @Test
    void anUnknownPhaseIsInvalid() throws Exception {
        Status s = TailClient.open(f.tail(ADMIN), TailRequest.newBuilder().setPhase("decisions").build()).status();
        assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(s.getDescription()).isEqualTo("phase: \"decisions\" (expected: decision, outcome, task or gap)");
    }

    @Test
    void filtersAreAppliedOnTheServer_andRecordsAreTheAuditFilesLines() throws Exception {
        int before = f.control.tailSubscribers();
        StartTaskResponse s = f.start(AGENT, "filters", "GET /forecast/*");
        String task = s.getTask().getTaskId();
        TailClient all = TailClient.open(f.tail(ADMIN), TailRequest.newBuilder().setTaskId(task).build());
        TailClient decisions = TailClient.open(f.tail(ADMIN), TailRequest.newBuilder().setTaskId(task)
                .setPhase("decision").build());
        TailClient denies = TailClient.open(f.tail(AUDITOR), TailRequest.newBuilder().setAgent(AGENT.uri())
                .setDecision("deny").build());
        TailClient noGrant = TailClient.open(f.tail(AUDITOR), TailRequest.newBuilder().setRoute("weather")
                .setCode("DENY_NO_GRANT").build());
        TailClient others = TailClient.open(f.tail(ADMIN), TailRequest.newBuilder().setAgent(OTHER.uri()).build());
        await(() -> f.control.tailSubscribers(), before + 5);

        assertThat(f.call(AGENT, "/api/weather/forecast/oslo", s.getToken()).statusCode()).isEqualTo(200);
        assertThat(f.call(AGENT, "/api/weather/alerts", s.getToken()).statusCode()).isEqualTo(403);
        f.tasks(AGENT).endTask(EndTaskRequest.newBuilder().setTaskId(task).build());

        // decision (allow), outcome, decision (deny), end; in the order written.
        List<AuditRecord> seen = all.records(4);
        assertThat(seen).extracting(AuditRecord::getPhase).containsExactly("decision", "outcome", "decision", "task");
        AuditRecord allowed = seen.get(0);
        assertThat(allowed.getCode()).isEqualTo("ALLOW");
        assertThat(allowed.getDecision()).isEqualTo("allow");
        assertThat(allowed.getAgent()).isEqualTo(AGENT.uri());
        assertThat(allowed.getRoute()).isEqualTo("weather");
        assertThat(allowed.getProtocol()).isEqualTo("http");
        assertThat(allowed.getOperation()).isEqualTo("GET /api/weather/forecast/oslo");
        assertThat(allowed.getGrantId()).isEqualTo("g1");
        assertThat(allowed.getPurpose()).isEqualTo("filters");
        assertThat(allowed.getMode()).isEqualTo("enforce");
        assertThat(allowed.hasDecisionUs()).isTrue();
        assertThat(allowed.getTraceId()).hasSize(32);
        AuditRecord outcome = seen.get(1);
        assertThat(outcome.getDecisionId()).isEqualTo(allowed.getDecisionId());
        assertThat(outcome.getUpstreamStatus()).isEqualTo(200);
        assertThat(outcome.getOutcome()).isEqualTo("completed");
        assertThat(outcome.hasBytesOut()).isTrue();
        assertThat(seen.get(2).getCode()).isEqualTo("DENY_NO_GRANT");
        assertThat(seen.get(2).hasUpstreamStatus()).isFalse();
        assertThat(seen.get(3).getEvent()).isEqualTo("end");
        assertThat(seen.get(3).getActor()).isEqualTo(AGENT.uri());

        // Each record is a line of the audit file, with the chain fields of that line; consecutive records chain.
        List<String> file = f.auditLines();
        for (AuditRecord r : seen) {
            assertThat(file).contains(r.getJson());
            JsonNode line = JSON.readTree(r.getJson());
            assertThat(r.getHash()).isEqualTo(line.path("hash").asText()).hasSize(64);
            assertThat(r.getPrevHash()).isEqualTo(line.path("prev_hash").asText()).hasSize(64);
            assertThat(r.getDecisionId()).isEqualTo(line.path("decision_id").asText());
            assertThat(Instant.ofEpochSecond(r.getTs().getSeconds(), r.getTs().getNanos()))
                    .isEqualTo(Instant.parse(line.path("ts").asText()));
        }
        assertThat(seen.get(1).getPrevHash()).isEqualTo(seen.get(0).getHash());

        assertThat(decisions.records(2)).extracting(AuditRecord::getCode).containsExactly("ALLOW", "DENY_NO_GRANT");
        assertThat(denies.records(1)).extracting(AuditRecord::getCode).containsExactly("DENY_NO_GRANT");
        assertThat(noGrant.records(1)).extracting(AuditRecord::getTaskId).containsExactly(task);
        // Nothing else reached the filtered tails, and nothing of AGENT's reached OTHER's.
        for (TailClient c : List.of(decisions, denies, noGrant, others)) {
            assertThat(c.items.poll(200, TimeUnit.MILLISECONDS)).isNull();
        }
        for (TailClient c : List.of(all, decisions, denies, noGrant, others)) {
            c.cancel();
        }
        await(() -> f.control.tailSubscribers(), before);
    }

    @Test
    void aSubscriberThatStopsReadingGetsAnOverflowNotice_othersAndTheAuditFileMissNothing() throws Exception {
        int before = f.control.tailSubscribers();
        Svid svid = f.pki.issue(ADMIN);
        // A small HTTP/2 window, so the server's stream stops being ready after a few dozen records.
        ManagedChannel small = NettyChannelBuilder.forAddress("127.0.0.1", f.control.port())
                .sslContext(GrpcSslContexts.forClient()
                        .keyManager(svid.key(), svid.chain().toArray(new X509Certificate[0]))
                        .trustManager(f.pki.ca().certificate()).build())
                .flowControlWindow(16 * 1024)
                .build();
        try {
            TailRequest flood = TailRequest.newBuilder().setAgent(FLOOD).build();
            TailClient slow = TailClient.openNotReading(AuditServiceGrpc.newStub(small), flood);
            TailClient fast = TailClient.open(f.tail(AUDITOR), flood);
            await(() -> f.control.tailSubscribers(), before + 2);

            int bursts = 15;
            int perBurst = 200;
            int n = bursts * perBurst;
            List<AuditRecord> fastSeen = new ArrayList<>();
            for (int b = 0; b < bursts; b++) {
                for (int i = 0; i < perBurst; i++) {
                    offer(b * perBurst + i);
                }
                // The fast subscriber keeps up (its buffer holds a burst); the slow one reads nothing.
                fastSeen.addAll(fast.records(perBurst));
            }
            assertThat(fastSeen).extracting(AuditRecord::getDecisionId)
                    .containsExactlyElementsOf(ids(0, n));

            // Every record is in the audit file, whatever the tails did.
            assertThat(f.auditLines().stream().filter(l -> l.contains(FLOOD)).count()).isEqualTo(n);

            // The slow subscriber now reads: a prefix of the records in order, then one overflow notice with the
            // count of what it missed; then it is live again.
            slow.request(Integer.MAX_VALUE);
            List<AuditRecord> slowSeen = new ArrayList<>();
            long dropped = 0;
            while (slowSeen.size() + dropped < n) {
                TailResponse r = slow.take(1, Duration.ofSeconds(10)).get(0);
                if (r.hasOverflow()) {
                    assertThat(dropped).as("one gap, one notice").isZero();
                    dropped = r.getOverflow().getDropped();
                } else {
                    assertThat(dropped).as("no record after the notice until the next one is written").isZero();
                    slowSeen.add(r.getRecord());
                }
            }
            assertThat(dropped).isPositive();
            assertThat(slowSeen.size()).isBetween(1024, n - 1); // the buffer's worth at least, plus what was in flight
            assertThat(slowSeen).extracting(AuditRecord::getDecisionId)
                    .containsExactlyElementsOf(ids(0, slowSeen.size()));
            offer(n);
            assertThat(slow.records(1).get(0).getDecisionId()).isEqualTo("flood-" + n);
            assertThat(fast.records(1).get(0).getDecisionId()).isEqualTo("flood-" + n);
            slow.cancel();
            fast.cancel();
            await(() -> f.control.tailSubscribers(), before);
        } finally {
            small.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void capturedArgumentsAndGapRecordsReachTheTailWithTheirFields() throws Exception {
        int before = f.control.tailSubscribers();
        String agent = "spiffe://toolgate.test/agents/args";
        TailClient args = TailClient.open(f.tail(ADMIN), TailRequest.newBuilder().setAgent(agent).build());
        TailClient gaps = TailClient.open(f.tail(AUDITOR), TailRequest.newBuilder().setPhase("gap").build());
        await(() -> f.control.tailSubscribers(), before + 2);
        Instant t0 = Instant.parse("2026-11-28T12:00:00.123456Z");
        dev.toolgate.audit.AuditRecord rec = dev.toolgate.audit.AuditRecord.decision(t0, "args-1", null, null, agent,
                "tools-mcp", "mcp", "mcp:tools/call:search", "allow", "ALLOW", "granted", "enforce", 1);
        assertThat(f.audit.offer(rec.withArgs("ab".repeat(32), java.util.Map.of("repo", "acme/api",
                "query", "[REDACTED:email]")))).isTrue();
        AuditRecord seen = args.records(1).get(0);
        assertThat(seen.getArgsDigest()).isEqualTo("ab".repeat(32));
        assertThat(seen.getArgsMap()).containsExactly(java.util.Map.entry("query", "[REDACTED:email]"),
                java.util.Map.entry("repo", "acme/api"));
        assertThat(JSON.readTree(seen.getJson()).path("args").path("repo").asText()).isEqualTo("acme/api");

        // A record a caller gave up on shows up as a gap record, with its count and times.
        f.audit.refused(rec);
        f.audit.refused(dev.toolgate.audit.AuditRecord.decision(t0.plusSeconds(2), "args-2", null, null, agent,
                "tools-mcp", "mcp", "mcp:tools/call:search", "deny", "DENY_NO_GRANT", "no", "enforce", 1));
        AuditRecord gap = gaps.records(1).get(0);
        assertThat(gap.getPhase()).isEqualTo("gap");
        assertThat(gap.getCode()).isEqualTo("ERROR_FAIL_CLOSED");
        assertThat(gap.getOutcome()).isEqualTo("audit_unavailable");
        long count = gap.getCount();
        assertThat(count).isBetween(1L, 2L); // the writer may have written the first refusal before the second
        assertThat(Instant.ofEpochSecond(gap.getFirstTs().getSeconds(), gap.getFirstTs().getNanos())).isEqualTo(t0);
        assertThat(f.auditLines()).contains(gap.getJson());
        if (count == 1) {
            assertThat(gaps.records(1).get(0).getCount()).isEqualTo(1);
        } else {
            assertThat(Instant.ofEpochSecond(gap.getLastTs().getSeconds(), gap.getLastTs().getNanos()))
                    .isEqualTo(t0.plusSeconds(2));
        }
        args.cancel();
        gaps.cancel();
        await(() -> f.control.tailSubscribers(), before);
    }

    private static void offer(int i) {
        assertThat(f.audit.offer(dev.toolgate.audit.AuditRecord.decision(Instant.now(), "flood-" + i, null, null,
                FLOOD, "weather", "http", "GET /flood/" + i, "deny", "DENY_NO_TASK", "a flood of records", "enforce",
                1))).isTrue();
    }

    private static List<String> ids(int from, int to) {
        List<String> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            out.add("flood-" + i);
        }
        return out;
    }

    /** Waits (bounded) for a value the server changes asynchronously, e.g. when a cancellation reaches it. */
    static void await(IntSupplier value, int expected) throws Exception {
        Await.until("the value " + expected, () -> value.getAsInt() == expected);
        assertThat(value.getAsInt()).isEqualTo(expected);
    }
}
