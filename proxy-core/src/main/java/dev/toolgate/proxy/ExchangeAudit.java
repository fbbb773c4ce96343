package dev.toolgate.proxy;

import dev.toolgate.admission.Intent;
import dev.toolgate.audit.AuditRecord;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.telemetry.TraceParent;
import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.EventExecutor;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit side of one exchange: its decision id, the decision record (which must be in the audit file before the
 * exchange goes on) and the outcome record. Waiting for the trail never blocks the event loop: the trail's writer
 * wakes the loop when the record's batch is written, and a full queue is retried every millisecond up to the
 * configured bound. Not thread-safe: used on the exchange's event loop.
 */
final class ExchangeAudit {
    /**
     * What every exchange's audit shares: the trail, the metrics, the clock and how long a record may wait for the
     * trail. Immutable; thread-safe.
     */
    record Context(AuditTrail trail, ProxyMetrics metrics, Clock clock, long maxWaitNanos) {
        /** The audit of one new exchange on {@code channel}, its span {@code span}. */
        ExchangeAudit open(Channel channel, Span span) {
            return new ExchangeAudit(trail, metrics, clock, maxWaitNanos, channel, span);
        }
    }

    private static final Logger log = LoggerFactory.getLogger(ExchangeAudit.class);

    private final AuditTrail trail;
    private final ProxyMetrics metrics;
    private final Clock clock;
    private final EventExecutor loop;
    private final long maxWaitNanos;
    final String decisionId;
    private final long startNanos = System.nanoTime();
    /** The connection's client-certificate ID, or null. */
    private final SpiffeId peer;
    private SpiffeId agentId;
    private String agent;
    /** How the agent proved its ID ({@code x509}, {@code jwt}); null while there is no verified agent. */
    private String identity;
    /** What admission knew of the call when it decided (or gave up); both records are written from it. */
    private Intent intent;
    private String traceId;
    private String spanId;
    private long forwardNanos;
    private Map<String, String> tools;
    private final Span span;

    ExchangeAudit(AuditTrail trail, ProxyMetrics metrics, Clock clock, long maxWaitNanos, Channel channel,
                  Span span) {
        this.trail = trail;
        this.span = span;
        this.metrics = metrics;
        this.clock = clock;
        this.loop = channel.eventLoop();
        this.maxWaitNanos = maxWaitNanos;
        ThreadLocalRandom r = ThreadLocalRandom.current();
        this.decisionId = hex(r.nextLong()) + hex(r.nextLong());
        // The peer is recorded on the TLS connection; an HTTP/2 stream reads it from its parent connection.
        Channel connection = channel instanceof Http2StreamChannel ? channel.parent() : channel;
        this.peer = connection.attr(ProtocolSelector.PEER).get();
        span.setAttribute("toolgate.decision_id", decisionId);
        if (peer != null) {
            // A certificate connection: every record of the request names its caller, even one refused before
            // the identity step (a malformed head). A JWT caller is named once its token was verified.
            identify(peer, IdentityProof.X509);
        }
    }

    /** The SPIFFE ID of the connection's client certificate, or null when it has none. */
    SpiffeId peer() {
        return peer;
    }

    /** The request's verified caller: recorded on both records and the span. */
    void identify(SpiffeId id, IdentityProof proof) {
        this.agentId = id;
        this.agent = id.uri();
        this.identity = proof.json();
        span.setAttribute("toolgate.agent", agent);
        span.setAttribute("toolgate.identity", identity);
    }

    /** The request's verified caller, or null before {@link #identify} (or when nobody could be identified). */
    SpiffeId agentId() {
        return agentId;
    }

    /** The tools an MCP server listed in this exchange's answer (name to definition digest), for the outcome. */
    void tools(Map<String, String> digests) {
        this.tools = digests;
    }

    /** A request to the sidecar's own endpoints was answered (audited by the task records it caused). */
    void local(int status) {
        span.setAttribute("http.response.status_code", status);
        span.end();
    }

    /** The trace this exchange continues (its ids go on both records). */
    void trace(TraceParent trace) {
        this.traceId = trace.traceId();
        this.spanId = trace.spanId();
    }

    /** What admission knows of the call now: route, operation, the decision's task and grant, MCP arguments. */
    void intent(Intent now) {
        this.intent = now;
        span.updateName(now.route() == null ? method(now.operation()) : method(now.operation()) + " " + now.route());
        span.setAttribute("toolgate.operation", now.operation());
        if (now.route() != null) {
            span.setAttribute("toolgate.route", now.route());
        }
        if (now.decision() != null && now.decision().task() != null) {
            span.setAttribute("toolgate.task_id", now.decision().task().task().id());
        }
    }

    /** The route of the call, or null. */
    String route() {
        return intent.route();
    }

    private static String method(String operation) {
        int sp = operation.indexOf(' ');
        return sp < 0 ? operation : operation.substring(0, sp);
    }

    /**
     * Writes the decision record, then runs {@code accepted} on the event loop once the record is in the file; if
     * the trail cannot take it within the bound, or its sink fails (or stalls) before the record is written, runs
     * {@code refused} instead (the caller fails closed).
     */
    void decide(DecisionCode code, String reason, Runnable accepted, Runnable refused) {
        long decisionNanos = System.nanoTime() - startNanos;
        long decisionUs = TimeUnit.NANOSECONDS.toMicros(decisionNanos);
        boolean allow = code == DecisionCode.ALLOW;
        metrics.decision(intent.route(), allow ? "allow" : "deny", code.name(), decisionNanos);
        span.setAttribute("toolgate.decision", allow ? "allow" : "deny");
        span.setAttribute("toolgate.code", code.name());
        AuditRecord rec = intent.record(clock.instant(), decisionId, traceId, spanId, agent, identity, decisionUs,
                code, reason);
        Runnable failClosed = () -> {
            span.setAttribute("toolgate.code", DecisionCode.ERROR_FAIL_CLOSED.name());
            span.setStatus(StatusCode.ERROR, "decision record not written to the audit trail in time");
            span.end();
            refused.run();
        };
        Runnable go = allow ? accepted : () -> {
            span.end();
            accepted.run();
        };
        forwardNanos = System.nanoTime();
        decision(rec, forwardNanos + maxWaitNanos, go, failClosed);
    }

    /** Offers the decision record with a waiter: the exchange goes on when the record's batch is written. */
    private void decision(AuditRecord rec, long deadline, Runnable accepted, Runnable refused) {
        AuditTrail.Durable written = ok -> {
            if (ok) {
                forwardNanos = System.nanoTime();
                accepted.run();
                return;
            }
            // Accepted, but the sink failed (or stalled) before the record reached the file: the call is refused
            // now. If the record is written later, the writer says in a written_late record that it was refused.
            log.error("audit sink failed before decision record {} was written; failing closed", decisionId);
            metrics.auditFailClosed();
            refused.run();
        };
        offer(rec, deadline, written, refused, true);
    }

    /**
     * Offers {@code rec} ({@code waiter}: told when it is in the file, or null), retrying a full queue every
     * millisecond up to {@code deadline}; runs {@code refused} when the trail will not take it. A failing sink is
     * not waited for: the trail says so, and the caller fails closed at once.
     */
    private void offer(AuditRecord rec, long deadline, AuditTrail.Durable waiter, Runnable refused, boolean first) {
        if (trail.offer(rec, loop, waiter)) {
            return;
        }
        boolean unavailable = !trail.available();
        if (first && !unavailable) {
            metrics.auditWait();
        }
        if (unavailable || System.nanoTime() - deadline > 0) {
            log.error("audit trail did not accept record {} of {} ({}); failing closed", rec.phaseName(),
                    decisionId, unavailable ? "its sink is failing" : "full past audit.maxWait");
            trail.refused(rec);
            if (rec.phase() == AuditRecord.Phase.DECISION) {
                metrics.auditFailClosed();
            }
            refused.run();
        } else {
            loop.schedule(() -> offer(rec, deadline, waiter, refused, false), 1, TimeUnit.MILLISECONDS);
        }
    }

    /** Writes the outcome record of an allowed call (retrying while the queue is full). */
    void outcome(Integer upstreamStatus, String outcome, String reason, long bytesIn, long bytesOut) {
        long upstreamNanos = System.nanoTime() - forwardNanos;
        long upstreamMs = TimeUnit.NANOSECONDS.toMillis(upstreamNanos);
        metrics.outcome(intent.route(), outcome, upstreamNanos);
        if (upstreamStatus != null) {
            span.setAttribute("http.response.status_code", upstreamStatus.longValue());
        }
        span.setAttribute("toolgate.outcome", outcome);
        if (!"completed".equals(outcome)) {
            span.setStatus(StatusCode.ERROR, reason == null ? outcome : reason);
        }
        span.end();
        String taskId = intent.decision() == null || intent.decision().task() == null ? null
                : intent.decision().task().task().id();
        AuditRecord rec = AuditRecord.outcome(clock.instant(), decisionId, traceId, agent, taskId, intent.route(),
                intent.operation(), upstreamStatus, outcome, reason, upstreamMs, bytesIn, bytesOut, identity);
        if (tools != null) {
            rec = rec.withTools(tools);
        }
        offer(rec, System.nanoTime() + maxWaitNanos, null, () -> log.error(
                "the outcome of {} is not recorded; its decision record stands alone", decisionId), true);
    }

    private static String hex(long v) {
        String s = Long.toHexString(v);
        return "0".repeat(16 - s.length()) + s;
    }
}
