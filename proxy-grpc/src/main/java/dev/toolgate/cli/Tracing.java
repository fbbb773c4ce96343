package dev.toolgate.cli;

import dev.toolgate.telemetry.CallSpans;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Tracing from the standard {@code OTEL_*} environment: off unless an exporter is asked for
 * ({@code OTEL_TRACES_EXPORTER}, e.g. {@code otlp} with {@code OTEL_EXPORTER_OTLP_ENDPOINT}), so a sidecar never
 * tries to reach a collector nobody configured. Metrics and logs exporters stay off (metrics are on the admin
 * port).
 *
 * <p>The exporters bundled: {@code otlp}, and {@code logging} / {@code console} (each span as one line of the
 * diagnostic log, to look at spans without a collector); {@code none} is off. Any other name is refused before
 * anything starts, with the list of these, instead of the SDK's stack trace. Stateless.
 */
final class Tracing {
    /** The values of {@code OTEL_TRACES_EXPORTER} this build can serve (comma-separated, as the SDK reads it). */
    static final List<String> SUPPORTED = List.of("otlp", "logging", "console", "none");

    private Tracing() {}

    static CallSpans fromEnvironment() {
        return from(System.getenv("OTEL_TRACES_EXPORTER"));
    }

    /**
     * The spans {@code exporter} (a value of {@code OTEL_TRACES_EXPORTER}) asks for.
     *
     * @throws IllegalArgumentException naming the unsupported exporter and the supported ones
     */
    static CallSpans from(String exporter) {
        if (exporter == null || exporter.isBlank()) {
            return CallSpans.noop();
        }
        List<String> names = new ArrayList<>();
        for (String name : exporter.split(",", -1)) {
            String n = name.strip().toLowerCase(Locale.ROOT);
            if (!SUPPORTED.contains(n)) {
                throw new IllegalArgumentException("OTEL_TRACES_EXPORTER: \"" + name.strip() + "\" is not bundled"
                        + " (expected: one or more of " + String.join(", ", SUPPORTED) + ")");
            }
            names.add(n);
        }
        if (names.stream().allMatch("none"::equals)) {
            return CallSpans.noop();
        }
        String value = String.join(",", names.stream().filter(n -> !n.equals("none")).toList());
        return CallSpans.of(AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> Map.of(
                        "otel.metrics.exporter", "none",
                        "otel.logs.exporter", "none",
                        "otel.service.name", "toolgate"))
                .addPropertiesCustomizer(p -> Map.of("otel.traces.exporter", value))
                .build()
                .getOpenTelemetrySdk());
    }
}
