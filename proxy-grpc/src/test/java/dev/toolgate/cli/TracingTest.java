package dev.toolgate.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.telemetry.CallSpans;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * {@code OTEL_TRACES_EXPORTER}: the bundled exporters work ({@code logging} and {@code console} print each span to
 * the diagnostic log, no collector needed), anything else is refused in one line naming what is bundled.
 */
class TracingTest {
    @Test
    void theLoggingExporterIsBundledAndPrintsEachSpan() {
        Logger exporter = Logger.getLogger("io.opentelemetry.exporter.logging.LoggingSpanExporter");
        List<LogRecord> lines = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                synchronized (lines) {
                    lines.add(r);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        exporter.addHandler(capture);
        try {
            CallSpans spans = Tracing.from("logging");
            CallSpans.Started call = spans.start(null);
            call.span().end();
            synchronized (lines) {
                assertThat(lines).as("one line per span, at once").anySatisfy(r -> assertThat(r.getMessage()
                        + " " + (r.getParameters() == null ? "" : List.of(r.getParameters())))
                        .contains("toolgate call"));
            }
        } finally {
            exporter.removeHandler(capture);
        }
        assertThat(Tracing.from("console")).isNotNull();
        assertThat(Tracing.from(" otlp , logging ")).isNotNull();
    }

    @Test
    void noExporterOrNoneIsOff() {
        for (String off : new String[] {null, "", "  ", "none", "none,none"}) {
            CallSpans spans = Tracing.from(off);
            assertThat(spans.start(null).span().getSpanContext().isValid()).as("%s: no real span", off).isFalse();
        }
    }

    @Test
    void anExporterThatIsNotBundledIsRefusedNamingTheBundledOnes() {
        for (String bad : new String[] {"zipkin", "jaeger", "logging,zipkin", "prometheus", "otlp,"}) {
            assertThatThrownBy(() -> Tracing.from(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("OTEL_TRACES_EXPORTER: \"")
                    .hasMessageEndingWith("is not bundled (expected: one or more of otlp, logging, console, none)");
        }
    }
}
