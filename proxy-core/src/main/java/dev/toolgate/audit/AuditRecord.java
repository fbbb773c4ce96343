package dev.toolgate.audit;

import static java.util.Objects.requireNonNull;

import dev.toolgate.common.DecisionCode;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One audit record, as in DESIGN.md: a {@code decision} record (intent + decision, written before anything is
 * forwarded) or an {@code outcome} record (what happened, written when the exchange ends); both carry the same
 * {@code decisionId}; or a {@code task} record (a task lifecycle event: {@code event} is {@code start},
 * {@code delegate}, {@code end}, {@code revoke} or {@code revoke_grant}, done by {@code actor}; or an approval step,
 * {@code approval_requested}, {@code approval_granted}, {@code approval_denied} or {@code approval_expired}, with
 * its {@code approvalId}); or a {@code gap} record ({@code count} records the trail could not take in time, between
 * {@code firstTs} and {@code lastTs}: their calls were denied {@code ERROR_FAIL_CLOSED}), or a {@code gap} record with
 * {@code event} {@code torn_tail} (a torn last line found at start-up was moved to {@code sideFile}; see
 * {@link #tornTail}). A decision record of a call
 * that waits for, used or was refused by an approval carries its {@code approvalId} too. Fields that do not apply
 * are {@code null} and left out of the JSON line. The hash chain fields ({@code prev_hash}, {@code hash}) are added
 * by the {@link AuditTrail} when the record is written.
 *
 * <p>{@code identity} says how {@code agent} proved its SPIFFE ID: {@code x509} (client certificate) or {@code jwt}
 * (JWT-SVID); null when there is no verified agent (and on task records, whose {@code actor} came through the
 * control API or a task endpoint). {@code args} holds captured (redacted) argument values where a route opts in;
 * {@code tools} (outcome of an MCP {@code tools/list}: tool name to definition digest) and {@code elements}
 * (decision of a JSON-RPC batch: how each message was decided) are set with the {@code with...} methods.
 *
 * <p>Never put a token, credential or {@code Authorization} value in any field.
 */
public record AuditRecord(
        Phase phase, Instant ts, String decisionId, String traceId, String spanId, String agent, String taskId,
        String parentTaskId, String purpose, String route, String protocol, String operation, String argsDigest,
        String decision, String code, String reason, String grantId, String policy, String mode,
        Integer upstreamStatus, String outcome, Long decisionUs, Long upstreamMs, Long bytesIn, Long bytesOut,
        String event, String actor, String identity, String approvalId, Map<String, String> args, Long count,
        Instant firstTs, Instant lastTs, Map<String, String> tools, List<Element> elements, SideFile sideFile) {

    /** The {@code operation} of a refused TLS handshake's record ({@link #handshakeRefused}). */
    public static final String TLS_HANDSHAKE = "TLS handshake";
    /** The {@code operation} of an HTTP/2 stream reset before a request existed ({@link #http2Refused}). */
    public static final String HTTP2_STREAM = "HTTP/2 stream";
    /**
     * The {@code operation} of an HTTP/2 connection ended with GOAWAY for the agent's protocol error
     * ({@link #http2Refused}).
     */
    public static final String HTTP2_CONNECTION = "HTTP/2 connection";
    /** The {@code protocol} of the records {@link #http2Refused} makes: the wire protocol, as no route matched. */
    public static final String HTTP2 = "http2";

    /** What kind of record this is. */
    public enum Phase {
        DECISION("decision"), OUTCOME("outcome"), TASK("task"), GAP("gap");

        final String json;

        Phase(String json) {
            this.json = json;
        }
    }

    /**
     * Where a torn tail went: the side file's name (beside the audit file), its size and the SHA-256 (hex) of its
     * bytes. Written as {@code side_file}, {@code side_file_bytes} and {@code side_file_sha256}.
     */
    public record SideFile(String name, long bytes, String sha256) {
        public SideFile {
            requireNonNull(name, "name");
            requireNonNull(sha256, "sha256");
            if (bytes < 1) {
                throw new IllegalArgumentException("bytes: " + bytes + " (expected: > 0)");
            }
        }
    }

    /**
     * How one message of a JSON-RPC batch was decided (the batch's decision record lists them all; the batch as a
     * whole is allowed only when every element is).
     */
    public record Element(String operation, String code, String grantId) {
        public Element {
            requireNonNull(operation, "operation");
            requireNonNull(code, "code");
        }
    }

    public AuditRecord {
        requireNonNull(phase, "phase");
        requireNonNull(ts, "ts");
        requireNonNull(decisionId, "decisionId");
        args = args == null || args.isEmpty() ? null : Collections.unmodifiableSortedMap(new TreeMap<>(args));
        tools = tools == null ? null : Collections.unmodifiableSortedMap(new TreeMap<>(tools));
        elements = elements == null ? null : List.copyOf(elements);
    }

    /** The JSON name of the phase ({@code decision}, {@code outcome}, {@code task}, {@code gap}). */
    public String phaseName() {
        return phase.json;
    }

    /** The same record with {@code identity} set ({@code x509} or {@code jwt}; null for none). */
    public AuditRecord withIdentity(String newIdentity) {
        return new AuditRecord(phase, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose, route,
                protocol, operation, argsDigest, decision, code, reason, grantId, policy, mode, upstreamStatus,
                outcome, decisionUs, upstreamMs, bytesIn, bytesOut, event, actor, newIdentity, approvalId, args,
                count, firstTs, lastTs, tools, elements, sideFile);
    }

    /** The same record with {@code approval_id} set (a decision about a call that needs approval). */
    public AuditRecord withApprovalId(String id) {
        return new AuditRecord(phase, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose, route,
                protocol, operation, argsDigest, decision, code, reason, grantId, policy, mode, upstreamStatus,
                outcome, decisionUs, upstreamMs, bytesIn, bytesOut, event, actor, identity, id, args, count,
                firstTs, lastTs, tools, elements, sideFile);
    }

    /** The same record with {@code args_digest} set. */
    public AuditRecord withArgsDigest(String digest) {
        return new AuditRecord(phase, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose, route,
                protocol, operation, digest, decision, code, reason, grantId, policy, mode, upstreamStatus,
                outcome, decisionUs, upstreamMs, bytesIn, bytesOut, event, actor, identity, approvalId, args,
                count, firstTs, lastTs, tools, elements, sideFile);
    }

    /** This record with {@code tools}: tool name to definition digest, as an MCP server listed them. */
    public AuditRecord withTools(Map<String, String> newTools) {
        return new AuditRecord(phase, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose, route,
                protocol, operation, argsDigest, decision, code, reason, grantId, policy, mode, upstreamStatus,
                outcome, decisionUs, upstreamMs, bytesIn, bytesOut, event, actor, identity, approvalId, args,
                count, firstTs, lastTs, newTools, elements, sideFile);
    }

    /** This record with the decisions of each element of a JSON-RPC batch. */
    public AuditRecord withElements(List<Element> newElements) {
        return new AuditRecord(phase, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose, route,
                protocol, operation, argsDigest, decision, code, reason, grantId, policy, mode, upstreamStatus,
                outcome, decisionUs, upstreamMs, bytesIn, bytesOut, event, actor, identity, approvalId, args,
                count, firstTs, lastTs, tools, newElements, sideFile);
    }

    /** This record with the call's argument digest and captured (redacted) argument values; either may be null. */
    public AuditRecord withArgs(String newArgsDigest, Map<String, String> newArgs) {
        return new AuditRecord(phase, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose, route,
                protocol, operation, newArgsDigest, decision, code, reason, grantId, policy, mode,
                upstreamStatus, outcome, decisionUs, upstreamMs, bytesIn, bytesOut, event, actor, identity,
                approvalId, newArgs, count, firstTs, lastTs, tools, elements, sideFile);
    }

    /**
     * A gap record: {@code count} records the trail could not take in time (their calls were denied
     * {@code ERROR_FAIL_CLOSED}), the first and the last of them at {@code firstTs} and {@code lastTs}.
     */
    public static AuditRecord gap(Instant ts, String id, long count, Instant firstTs, Instant lastTs,
                                  String reason) {
        return new AuditRecord(Phase.GAP, ts, id, null, null, null, null, null, null, null, null, null, null, null,
                DecisionCode.ERROR_FAIL_CLOSED.name(), reason, null, null, null, null, "audit_unavailable", null, null,
                null, null, null, null, null, null, null, count, requireNonNull(firstTs, "firstTs"),
                requireNonNull(lastTs, "lastTs"), null, null, null);
    }

    /**
     * A {@code gap} record with {@code event: written_late}: the records {@code late} (non-empty) reached the file
     * after their callers had been told they would not (the sink failed or stalled first), so what they describe did
     * not happen: those calls were refused 503 {@code audit_unavailable}, never forwarded, and those task requests
     * failed. The reason names their decision ids (the first 50); {@code first_ts} and {@code last_ts} are theirs.
     */
    public static AuditRecord writtenLate(Instant ts, String id, List<AuditRecord> late) {
        Instant first = late.get(0).ts();
        Instant last = first;
        StringBuilder ids = new StringBuilder();
        for (int i = 0; i < late.size(); i++) {
            AuditRecord r = late.get(i);
            first = r.ts().isBefore(first) ? r.ts() : first;
            last = r.ts().isAfter(last) ? r.ts() : last;
            if (i < 50) {
                ids.append(i == 0 ? "" : ", ").append(r.decisionId());
            }
        }
        String reason = late.size() + " records above were written after the audit sink recovered, but their"
                + " callers had already been told they were not: those calls were refused (503 audit_unavailable,"
                + " not forwarded) and those task requests failed; decision ids: " + ids
                + (late.size() > 50 ? " and " + (late.size() - 50) + " more" : "");
        return new AuditRecord(Phase.GAP, ts, id, null, null, null, null, null, null, null, null, null, null, null,
                DecisionCode.ERROR_FAIL_CLOSED.name(), reason, null, null, null, null, "audit_unavailable", null, null,
                null, null, "written_late", null, null, null, null, (long) late.size(), first, last, null, null,
                null);
    }

    /**
     * A torn-tail record ({@code phase: gap}, {@code event: torn_tail}): at start-up the audit file ended in a line
     * that was not a whole record (a write cut short by a crash); its bytes were moved to {@code sideFile} and the
     * chain continues from the last whole record, with this record.
     */
    public static AuditRecord tornTail(Instant ts, String id, SideFile sideFile, String reason) {
        return new AuditRecord(Phase.GAP, ts, id, null, null, null, null, null, null, null, null, null, null, null,
                null, reason, null, null, null, null, null, null, null, null, null, "torn_tail", null, null, null, null,
                null, null, null, null, null, requireNonNull(sideFile, "sideFile"));
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

    /**
     * The decision record of refused agent TLS handshakes (refused before any request exists): {@code deny},
     * {@code DENY_NO_IDENTITY}, operation {@link #TLS_HANDSHAKE}, no {@code agent} (an ID a refused certificate
     * presented is not verified; {@code reason} names it as such). Under a flood one record stands for {@code count}
     * refusals alike, the first at {@code firstTs} and the last at {@code lastTs}.
     */
    public static AuditRecord handshakeRefused(Instant ts, String decisionId, String reason, long count,
                                               Instant firstTs, Instant lastTs) {
        if (count < 1) {
            throw new IllegalArgumentException("count: " + count + " (expected: > 0)");
        }
        return new AuditRecord(Phase.DECISION, ts, decisionId, null, null, null, null, null, null, null, null,
                TLS_HANDSHAKE, null, "deny", DecisionCode.DENY_NO_IDENTITY.name(), requireNonNull(reason, "reason"),
                null, null, null, null, null, null, null, null, null, null, null, null, null, null, count,
                requireNonNull(firstTs, "firstTs"), requireNonNull(lastTs, "lastTs"), null, null, null);
    }

    /**
     * The decision record of HTTP/2 streams the codec reset (or connections it ended with GOAWAY) for a malformed
     * head or frame before any request existed: {@code deny}, {@code DENY_MALFORMED} (as a malformed HTTP/1.1 head),
     * {@code protocol} {@link #HTTP2}, operation {@link #HTTP2_STREAM} or {@link #HTTP2_CONNECTION}, the
     * connection's verified client-certificate ID as {@code agent} (null on a connection without one). Under a flood
     * one record stands for {@code count} refusals alike, the first at {@code firstTs} and the last at
     * {@code lastTs}.
     */
    public static AuditRecord http2Refused(Instant ts, String decisionId, String agent, String operation,
                                           String reason, long count, Instant firstTs, Instant lastTs) {
        if (count < 1) {
            throw new IllegalArgumentException("count: " + count + " (expected: > 0)");
        }
        return new AuditRecord(Phase.DECISION, ts, decisionId, null, null, agent, null, null, null, null, HTTP2,
                requireNonNull(operation, "operation"), null, "deny", DecisionCode.DENY_MALFORMED.name(),
                requireNonNull(reason, "reason"), null, null, null, null, null, null, null, null, null, null, null,
                agent == null ? null : "x509", null, null, count, requireNonNull(firstTs, "firstTs"),
                requireNonNull(lastTs, "lastTs"), null, null, null);
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
        return new AuditRecord(Phase.DECISION, ts, decisionId, traceId, spanId, agent, taskId, parentTaskId, purpose,
                route, protocol, operation, null, decision, code, reason, grantId, policy, mode, null, null,
                decisionUs, null, null, null, null, null, identity, null, null, null, null, null, null, null, null);
    }

    /**
     * A task lifecycle record: {@code event} of the task {@code taskId} of {@code agent}, done by {@code actor}
     * ({@code grantId} for a grant revocation; {@code reason} as given).
     */
    public static AuditRecord task(Instant ts, String eventId, String event, String actor, String agent,
                                   String taskId, String parentTaskId, String purpose, String grantId,
                                   String reason) {
        return new AuditRecord(Phase.TASK, ts, eventId, null, null, agent, taskId, parentTaskId, purpose, null, null,
                null, null, null, null, reason, grantId, null, null, null, null, null, null, null, null, event,
                actor, null, null, null, null, null, null, null, null, null);
    }

    /**
     * An approval step ({@code phase: task}): {@code event} ({@code approval_requested}, {@code approval_granted},
     * {@code approval_denied}, {@code approval_expired}) of approval {@code approvalId}, done by {@code actor} (the
     * agent that asked, the approver; null for an expiry), with the intent it is about.
     */
    public static AuditRecord approval(Instant ts, String eventId, String event, String actor, String agent,
                                       String taskId, String purpose, String route, String operation,
                                       String argsDigest, String policy, String approvalId, String reason) {
        return new AuditRecord(Phase.TASK, ts, eventId, null, null, agent, taskId, null, purpose, route, null,
                operation, argsDigest, null, null, reason, null, policy, null, null, null, null, null, null,
                null, event, actor, null, approvalId, null, null, null, null, null, null, null);
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
                bytesIn, bytesOut, null, null, identity, null, null, null, null, null, null, null, null);
    }
}
