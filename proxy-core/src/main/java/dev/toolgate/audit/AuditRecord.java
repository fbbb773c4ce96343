package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * One audit record, as in DESIGN.md: a {@code decision} record (intent + decision, written before anything is
 * forwarded) or an {@code outcome} record (what happened, written when the exchange ends); both carry the same
 * {@code decisionId}. Fields that do not apply are {@code null} and left out of the JSON line. The hash chain
 * fields ({@code prev_hash}, {@code hash}) are added by the {@link AuditTrail} when the record is written.
 *
 * <p>Never put a token, credential or {@code Authorization} value in any field.
 */
public record AuditRecord(
        Phase phase, Instant ts, String decisionId, String traceId, String spanId, String agent, String taskId,
        String parentTaskId, String purpose, String route, String protocol, String operation, String argsDigest,
        String decision, String code, String reason, String grantId, String policy, String mode,
        Integer upstreamStatus, String outcome, Long decisionUs, Long upstreamMs, Long bytesIn, Long bytesOut) {

    /** Which of the two records of a call this is. */
    public enum Phase {
        DECISION("decision"), OUTCOME("outcome");

        final String json;

        Phase(String json) {
            this.json = json;
        }
    }

    public AuditRecord {
        requireNonNull(phase, "phase");
        requireNonNull(ts, "ts");
        requireNonNull(decisionId, "decisionId");
    }

    /** A decision record. {@code decision} is {@code allow} or {@code deny}; {@code code} one of DESIGN.md's. */
    public static AuditRecord decision(Instant ts, String decisionId, String traceId, String spanId, String agent,
                                       String route, String protocol, String operation, String decision,
                                       String code, String reason, String mode, long decisionUs) {
        return new AuditRecord(Phase.DECISION, ts, decisionId, traceId, spanId, agent, null, null, null, route,
                protocol, operation, null, decision, code, reason, null, null, mode, null, null, decisionUs, null,
                null, null);
    }

    /**
     * The outcome record of an allowed call. {@code upstreamStatus} is null when no response came; {@code outcome}
     * is {@code completed} or what went wrong ({@code upstream_timeout}, {@code agent_closed}, ...), with
     * {@code reason} saying more.
     */
    public static AuditRecord outcome(Instant ts, String decisionId, String traceId, String agent, String route,
                                      String operation, Integer upstreamStatus, String outcome, String reason,
                                      Long upstreamMs, long bytesIn, long bytesOut) {
        return new AuditRecord(Phase.OUTCOME, ts, decisionId, traceId, null, agent, null, null, null, route, null,
                operation, null, null, null, reason, null, null, null, upstreamStatus, outcome, null, upstreamMs,
                bytesIn, bytesOut);
    }
}
