package dev.toolgate.control;

import dev.toolgate.audit.AuditRecord;
import java.time.temporal.ChronoUnit;

/** Converts a written audit record (and its canonical line) into a {@code toolgate.v1.AuditRecord}. Stateless. */
final class AuditMessages {
    private static final String HASH = ",\"hash\":\"";
    private static final String PREV_HASH = "\"prev_hash\":\"";

    private AuditMessages() {}

    static dev.toolgate.api.v1.AuditRecord record(AuditRecord r, String line) {
        dev.toolgate.api.v1.AuditRecord.Builder b = dev.toolgate.api.v1.AuditRecord.newBuilder()
                .setPhase(TailFilter.phaseOf(r))
                // As written: the line carries microseconds.
                .setTs(TaskMessages.timestamp(r.ts().truncatedTo(ChronoUnit.MICROS)))
                .setDecisionId(r.decisionId())
                .setJson(line);
        set(r.traceId(), b::setTraceId);
        set(r.spanId(), b::setSpanId);
        set(r.agent(), b::setAgent);
        set(r.identity(), b::setIdentity);
        set(r.taskId(), b::setTaskId);
        set(r.parentTaskId(), b::setParentTaskId);
        set(r.purpose(), b::setPurpose);
        set(r.route(), b::setRoute);
        set(r.protocol(), b::setProtocol);
        set(r.operation(), b::setOperation);
        set(r.argsDigest(), b::setArgsDigest);
        set(r.decision(), b::setDecision);
        set(r.code(), b::setCode);
        set(r.reason(), b::setReason);
        set(r.grantId(), b::setGrantId);
        set(r.policy(), b::setPolicy);
        set(r.mode(), b::setMode);
        set(r.outcome(), b::setOutcome);
        set(r.event(), b::setEvent);
        set(r.actor(), b::setActor);
        set(r.approvalId(), b::setApprovalId);
        if (r.upstreamStatus() != null) {
            b.setUpstreamStatus(r.upstreamStatus());
        }
        if (r.decisionUs() != null) {
            b.setDecisionUs(r.decisionUs());
        }
        if (r.upstreamMs() != null) {
            b.setUpstreamMs(r.upstreamMs());
        }
        if (r.bytesIn() != null) {
            b.setBytesIn(r.bytesIn());
        }
        if (r.bytesOut() != null) {
            b.setBytesOut(r.bytesOut());
        }
        if (r.args() != null) {
            b.putAllArgs(r.args());
        }
        if (r.count() != null) {
            b.setCount(r.count());
        }
        if (r.firstTs() != null) {
            b.setFirstTs(TaskMessages.timestamp(r.firstTs().truncatedTo(ChronoUnit.MICROS)));
        }
        if (r.lastTs() != null) {
            b.setLastTs(TaskMessages.timestamp(r.lastTs().truncatedTo(ChronoUnit.MICROS)));
        }
        // The chain fields are added by the writer, so they are only in the line: its canonical form ends with
        // "prev_hash":"…","hash":"…"} (an unescaped quote cannot occur inside a JSON string value).
        int h = line.lastIndexOf(HASH);
        if (h > 0 && line.endsWith("\"}")) {
            b.setHash(line.substring(h + HASH.length(), line.length() - 2));
            int p = line.lastIndexOf(PREV_HASH, h);
            if (p > 0) {
                b.setPrevHash(line.substring(p + PREV_HASH.length(), h - 1));
            }
        }
        return b.build();
    }

    private static void set(String value, java.util.function.Consumer<String> setter) {
        if (value != null) {
            setter.accept(value);
        }
    }
}
