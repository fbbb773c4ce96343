package dev.toolgate.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.testing.MemoryAuditSink;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AuditTailTest {
    private static AuditRecord record(int i, String route, String code) {
        return AuditRecord.decision(Instant.now(), "d" + i, null, null, "spiffe://t/agents/a", route, "http",
                "GET /x", code.equals("ALLOW") ? "allow" : "deny", code, "r", "enforce", 1);
    }

    private static void offerAll(AuditTrail trail, AuditRecord... records) {
        for (AuditRecord r : records) {
            while (!trail.offer(r)) {
                Thread.onSpinWait();
            }
        }
    }

    @Test
    void subscribersSeeMatchingRecordsInOrder() throws Exception {
        MemoryAuditSink sink = new MemoryAuditSink();
        AuditTrail trail = AuditTrail.start(sink, null, 64);
        AuditTail tail = AuditTail.of(trail);
        try (AuditTail.Subscription denies = tail.subscribe(
                new AuditTail.Filter(null, null, "weather", "deny", null), 16)) {
            offerAll(trail, record(1, "weather", "ALLOW"), record(2, "weather", "DENY_POLICY"),
                    record(3, "crm", "DENY_POLICY"), record(4, "weather", "DENY_MALFORMED"));
            assertThat(denies.poll(5, TimeUnit.SECONDS)).contains("\"decision_id\":\"d2\"");
            assertThat(denies.poll(5, TimeUnit.SECONDS)).contains("\"decision_id\":\"d4\"");
            assertThat(denies.poll(100, TimeUnit.MILLISECONDS)).isNull();
        }
        assertThat(tail.subscribers()).isZero();
        trail.close();
        assertThat(sink.lines).hasSize(4);
    }

    @Test
    void aSlowSubscriberMissesRecordsButTheTrailLosesNone() throws Exception {
        MemoryAuditSink sink = new MemoryAuditSink();
        AuditTrail trail = AuditTrail.start(sink, null, 1024);
        AuditTail tail = AuditTail.of(trail);
        AuditTail.Subscription slow = tail.subscribe(AuditTail.Filter.ALL, 2);
        for (int i = 0; i < 50; i++) {
            offerAll(trail, record(i, "weather", "ALLOW"));
        }
        trail.close();
        assertThat(sink.lines).hasSize(50);
        assertThat(slow.missed()).isEqualTo(48);
        assertThat(slow.poll(1, TimeUnit.SECONDS)).contains("\"decision_id\":\"d0\"");
    }
}
