/**
 * Metrics and traces: W3C trace context now; OpenTelemetry spans and Prometheus metrics follow.
 */
package dev.toolgate.telemetry;
