package dev.toolgate.cli;

import dev.toolgate.telemetry.CallSpans;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;

/**
 * Tracing from the standard {@code OTEL_*} environment: off unless an exporter is asked for
 * ({@code OTEL_TRACES_EXPORTER}, e.g. {@code otlp} with {@code OTEL_EXPORTER_OTLP_ENDPOINT}), so a sidecar never
 * tries to reach a collector nobody configured. Metrics and logs exporters stay off (metrics are on the admin
 * port).
 */
final class Tracing {
    private Tracing() {}

    static CallSpans fromEnvironment() {
        String exporter = System.getenv("OTEL_TRACES_EXPORTER");
        if (exporter == null || exporter.isBlank() || exporter.equals("none")) {
            return CallSpans.noop();
        }
        return CallSpans.of(AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> java.util.Map.of(
                        "otel.metrics.exporter", "none",
                        "otel.logs.exporter", "none",
                        "otel.service.name", "toolgate"))
                .build()
                .getOpenTelemetrySdk());
    }
}
