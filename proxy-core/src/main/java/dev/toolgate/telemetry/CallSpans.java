package dev.toolgate.telemetry;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import java.util.Optional;

/**
 * One OpenTelemetry span per call, child of the agent's {@code traceparent} when it sent a valid one. With
 * tracing off (the no-op OpenTelemetry, the default) no span is recorded, but the hop still gets its own span id,
 * so the upstream always receives a well-formed {@code traceparent} of this hop. Thread-safe.
 */
public final class CallSpans {
    /** The instrumentation scope name of the spans. */
    public static final String SCOPE = "dev.toolgate.proxy";

    private final Tracer tracer;

    private CallSpans(Tracer tracer) {
        this.tracer = tracer;
    }

    public static CallSpans of(OpenTelemetry otel) {
        return new CallSpans(requireNonNull(otel, "otel").getTracer(SCOPE));
    }

    /** Tracing off. */
    public static CallSpans noop() {
        return of(OpenTelemetry.noop());
    }

    /** A started span and the traceparent the upstream gets (this span as parent). */
    public record Started(Span span, TraceParent hop) {}

    /** Starts the span of a call that arrived with {@code agentHeader} (may be null or malformed). */
    public Started start(CharSequence agentHeader) {
        Optional<TraceParent> parent = TraceParent.parse(agentHeader);
        Context ctx = parent.map(p -> Context.root().with(Span.wrap(SpanContext.createFromRemoteParent(
                p.traceId(), p.spanId(), TraceFlags.fromHex(p.flags(), 0), TraceState.getDefault()))))
                .orElse(Context.root());
        Span span = tracer.spanBuilder("toolgate call").setParent(ctx).setSpanKind(SpanKind.SERVER).startSpan();
        SpanContext sc = span.getSpanContext();
        TraceParent hop;
        if (sc.isValid() && !sc.isRemote()) {
            hop = new TraceParent(sc.getTraceId(), sc.getSpanId(), sc.getTraceFlags().asHex());
        } else {
            hop = parent.map(TraceParent::nextHop).orElseGet(TraceParent::start);
        }
        return new Started(span, hop);
    }
}
