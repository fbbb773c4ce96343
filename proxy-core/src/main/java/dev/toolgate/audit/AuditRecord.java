package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * One audit record, as in DESIGN.md: a {@code decision} record (intent + decision, written before anything is
 * forwarded) or an {@code outcome} record (what happened, written when the exchange ends); both carry the same
 * {@code decisionId}; or a {@code task} record (a task lifecycle event: {@code event} is {@code start},
 * {@code delegate}, {@code end}, {@code revoke} or {@code revoke_grant}, done by {@code actor}); or a {@code gap}
 * record (written by the trail itself: {@code count} records it could not take within {@code audit.maxWait}
 * between {@code firstTs} and {@code lastTs}, so their loss shows in the chain). Fields that do not apply are
 * {@code null} and left out of the JSON line. The hash chain fields ({@code prev_hash}, {@code hash}) are added by
 * the {@link AuditTrail} when the record is written.
 *
 * <p>{@code argsDigest} is the SHA-256 of the call's canonical arguments and {@code args} the argument values a
 * route opted to capture, already redacted ({@link ArgumentCapture}); {@code args} is kept sorted by name.
 *
 * <p>Never put a token, credential or {@code Authorization} value in any field.
 */
public record AuditRecord(
        Phase phase, Instant ts, String decisionId, String traceId, String spanId, String agent, String taskId,
        String parentTaskId, String purpose, String route, String protocol, String operation, String argsDigest,
        String decision, String code, String reason, String grantId, String policy, String mode,
        Integer upstreamStatus, String outcome, Long decisionUs, Long upstreamMs, Long bytesIn, Long bytesOut,
        String event, String actor, Map<String, String> args, Long count, Instant firstTs, Instant lastTs) {

    /** What kind of record this is. */
    public enum Phase {
        DECISION("decision"), OUTCOME("outcome"), TASK("task"), GAP("gap");

        final String json;

        Phase(String json) {
            this.json = json;
        }
    }

    public AuditRecord {
        requireNonNull(phase, "phase");
        requireNonNull(ts, "ts");
        requireNonNull(decisionId, "decisionId");
        args = args == null || args.isEmpty() ? null : Collections.unmodifiableSortedMap(new TreeMap<>(args));
    }

    /** The JSON name of the phase ({@code decision}, {@code outcome}, {@code task}, {@code gap}). */
    public String phaseName() {
        return phase.json;
    }

    /**
     * This record with the call's argument digest and captured (redacted) argument values; either may be null.
     */
    public AuditRecord withArgs(String argsDigest, Map<String, String> args) {
        return new AuditRecord(phase, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose, route,
                protocol, operation, argsDigest, decision, code, reason, grantId, policy, mode, upstreamStatus,
                outcome, decisionUs, upstreamMs, bytesIn, bytesOut, event, actor, args, count, firstTs, lastTs);
    }

    /**
     * A gap record: {@code count} records the trail could not take in time (their calls were denied
     * {@code ERROR_FAIL_CLOSED}), the first and the last of them at {@code firstTs} and {@code lastTs}.
     */
    public static AuditRecord gap(Instant ts, String id, long count, Instant firstTs, Instant lastTs,
                                  String reason) {
        return new AuditRecord(Phase.GAP, ts, id, null, null, null, null, null, null, null, null, null, null, null,
                "ERROR_FAIL_CLOSED", reason, null, null, null, null, "audit_unavailable", null, null, null, null,
                null, null, null, count, requireNonNull(firstTs, "firstTs"), requireNonNull(lastTs, "lastTs"));
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
        return new AuditRecord(Phase.DECISION, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId,
                purpose, route, protocol, operation, null, decision, code, reason, grantId, policy, mode, null, null,
                decisionUs, null, null, null, null, null, null, null, null, null);
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
                event, actor, null, null, null, null);
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
        return new AuditRecord(Phase.OUTCOME, ts, decisionId, traceId, null, agent, taskId, null, null, route, null,
                operation, null, null, null, reason, null, null, null, upstreamStatus, outcome, null, upstreamMs,
                bytesIn, bytesOut, null, null, null, null, null, null);
    }
}
