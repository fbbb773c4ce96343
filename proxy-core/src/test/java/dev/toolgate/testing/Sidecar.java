package dev.toolgate.testing;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.AdminConfig;
import dev.toolgate.config.ListenerConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.config.TimeoutsConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.telemetry.CallSpans;
import dev.toolgate.telemetry.ProxyMetrics;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/** Starts the real data plane on 127.0.0.1, port 0, with dev-CA identities. */
public final class Sidecar {
    private Sidecar() {}

    public static SidecarConfig config(List<RouteConfig> routes) {
        return new SidecarConfig(new ListenerConfig("127.0.0.1", 0), null, null,
                new TimeoutsConfig(Duration.ofSeconds(2), Duration.ofSeconds(5), null), null,
                new AdminConfig("127.0.0.1", 0), routes);
    }

    /** Starts with an in-memory audit trail nobody reads. */
    public static ProxyServer start(TestPki pki, SidecarConfig config) throws Exception {
        return start(pki, config, AuditTrail.start(new MemoryAuditSink(), null, 100_000));
    }

    public static ProxyServer start(TestPki pki, SidecarConfig config, AuditTrail audit) throws Exception {
        return ProxyServer.start(config, pki.sidecarTls(), audit, ProxyMetrics.create(), CallSpans.noop(), 2);
    }

    public static ProxyServer start(TestPki pki, SidecarConfig config, AuditTrail audit, ProxyMetrics metrics)
            throws Exception {
        return ProxyServer.start(config, pki.sidecarTls(), audit, metrics, CallSpans.noop(), 2);
    }

    public static ProxyServer start(TestPki pki, SidecarConfig config, AuditTrail audit, CallSpans spans)
            throws Exception {
        return ProxyServer.start(config, pki.sidecarTls(), audit, ProxyMetrics.create(), spans, 2);
    }

    public static RouteConfig route(String name, String prefix, String url) {
        return new RouteConfig(name, prefix, null, null, new UpstreamConfig(URI.create(url), null, null), null, null);
    }

    public static RouteConfig route(String name, String prefix, String url, TimeoutsConfig timeouts) {
        return new RouteConfig(name, prefix, null, null, new UpstreamConfig(URI.create(url), null, null), null,
                timeouts);
    }
}
