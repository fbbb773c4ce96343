package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * One audit record, as in DESIGN.md: a {@code decision} record (intent + decision, written before anything is
 * forwarded) or an {@code outcome} record (what happened, written when the exchange ends); both carry the same
 * {@code decisionId}; or a {@code task} record (a task lifecycle event: {@code event} is {@code start},
 * {@code delegate}, {@code end}, {@code revoke} or {@code revoke_grant}, done by {@code actor}). Fields that do not apply are {@code null} and left out of the JSON line. The hash chain
 * fields ({@code prev_hash}, {@code hash}) are added by the {@link AuditTrail} when the record is written.
 *
 * <p>{@code identity} says how {@code agent} proved its SPIFFE ID: {@code x509} (client certificate) or {@code jwt}
 * (JWT-SVID); null when there is no verified agent (and on task records, whose {@code actor} came through the
 * control API or a task endpoint).
 *
 * <p>Never put a token, credential or {@code Authorization} value in any field.
 */
public record AuditRecord(
        Phase phase, Instant ts, String decisionId, String traceId, String spanId, String agent, String taskId,
        String parentTaskId, String purpose, String route, String protocol, String operation, String argsDigest,
        String decision, String code, String reason, String grantId, String policy, String mode,
        Integer upstreamStatus, String outcome, Long decisionUs, Long upstreamMs, Long bytesIn, Long bytesOut,
        String event, String actor, String identity) {

    /** The same record with {@code identity} set ({@code x509} or {@code jwt}; null for none). */
    public AuditRecord withIdentity(String newIdentity) {
        return new AuditRecord(phase, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose, route,
                protocol, operation, argsDigest, decision, code, reason, grantId, policy, mode, upstreamStatus, outcome,
                decisionUs, upstreamMs, bytesIn, bytesOut, event, actor, newIdentity);
    }

    /** Which of the two records of a call this is. */
    public enum Phase {
        DECISION("decision"), OUTCOME("outcome"), TASK("task");

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

    /**
     * A decision record. {@code decision} is {@code allow}, {@code deny} or {@code would_deny} (a shadow-mode policy
     * would have denied; the call was forwarded); {@code code} one of DESIGN.md's.
     */
    public static AuditRecord decision(Instant ts, String decisionId, String traceId, String spanId, String agent,
                                       String route, String protocol, String operation, String decision,
                                       String code, String reason, String mode, long decisionUs) {
        return decision(ts, decisionId, traceId, spanId, agent, null, null, null, route, protocol, operation,
                decision, code, reason, null, null, mode, decisionUs);
    }

    /** A decision record of a call made for a task ({@code taskId} etc. null when the call named none). */
    public static AuditRecord decision(Instant ts, String decisionId, String traceId, String spanId, String agent,
                                       String taskId, String parentTaskId, String purpose, String route,
                                       String protocol, String operation, String decision, String code,
                                       String reason, String grantId, String policy, String mode,
                                       long decisionUs) {
        return decision(ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose, route, protocol,
                operation, decision, code, reason, grantId, policy, mode, decisionUs, null);
    }

    /** ... with how {@code agent} proved its ID ({@code identity}: {@code x509}, {@code jwt}, or null). */
    public static AuditRecord decision(Instant ts, String decisionId, String traceId, String spanId, String agent,
                                       String taskId, String parentTaskId, String purpose, String route,
                                       String protocol, String operation, String decision, String code,
                                       String reason, String grantId, String policy, String mode,
                                       long decisionUs, String identity) {
        return new AuditRecord(Phase.DECISION, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId,
                purpose, route, protocol, operation, null, decision, code, reason, grantId, policy, mode, null, null,
                decisionUs, null, null, null, null, null, identity);
    }

    /**
     * A task lifecycle record: {@code event} of the task {@code taskId} of {@code agent}, done by {@code actor}
     * ({@code grantId} for a grant revocation; {@code reason} as given).
     */
    public static AuditRecord task(Instant ts, String eventId, String event, String actor, String agent,
                                   String taskId, String parentTaskId, String purpose, String grantId,
                                   String reason) {
        return new AuditRecord(Phase.TASK, ts, eventId, null, null, agent, taskId, parentTaskId, purpose, null,
                null, null, null, null, null, reason, grantId, null, null, null, null, null, null, null, null,
                event, actor, null);
    }

    /**
     * The outcome record of an allowed call. {@code upstreamStatus} is null when no response came; {@code outcome}
     * is {@code completed} or what went wrong ({@code upstream_timeout}, {@code agent_closed}, ...), with
     * {@code reason} saying more.
     */
    public static AuditRecord outcome(Instant ts, String decisionId, String traceId, String agent, String route,
                                      String operation, Integer upstreamStatus, String outcome, String reason,
                                      Long upstreamMs, long bytesIn, long bytesOut) {
        return outcome(ts, decisionId, traceId, agent, null, route, operation, upstreamStatus, outcome, reason,
                upstreamMs, bytesIn, bytesOut);
    }

    /** The outcome record of an allowed call made for task {@code taskId}. */
    public static AuditRecord outcome(Instant ts, String decisionId, String traceId, String agent, String taskId,
                                      String route, String operation, Integer upstreamStatus, String outcome,
                                      String reason, Long upstreamMs, long bytesIn, long bytesOut) {
        return outcome(ts, decisionId, traceId, agent, taskId, route, operation, upstreamStatus, outcome, reason,
                upstreamMs, bytesIn, bytesOut, null);
    }

    /** ... with how {@code agent} proved its ID ({@code identity}: {@code x509}, {@code jwt}, or null). */
    public static AuditRecord outcome(Instant ts, String decisionId, String traceId, String agent, String taskId,
                                      String route, String operation, Integer upstreamStatus, String outcome,
                                      String reason, Long upstreamMs, long bytesIn, long bytesOut, String identity) {
        return new AuditRecord(Phase.OUTCOME, ts, decisionId, traceId, null, agent, taskId, null, null, route, null,
                operation, null, null, null, reason, null, null, null, upstreamStatus, outcome, null, upstreamMs,
                bytesIn, bytesOut, null, null, identity);
    }
}
