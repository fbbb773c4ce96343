package dev.toolgate.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.config.AuditConfig;
import dev.toolgate.config.ControlConfig;
import dev.toolgate.config.ListenerConfig;

/**
 * The sidecar's defaults that deploy/ must agree with, read from the product itself so that changing one without
 * deploy/ fails a test.
 */
final class ProductDefaults {
    private ProductDefaults() {}

    /** The agent-facing data plane port. */
    static int agentPort() {
        return ListenerConfig.DEFAULT_PORT;
    }

    /** The control API port (gRPC over mTLS). */
    static int controlPort() {
        return ControlConfig.DEFAULT_PORT;
    }

    /**
     * The admin port (/healthz, /readyz, /metrics on 127.0.0.1). Taken from the sidecar schema's
     * {@code admin.port} default once the admin issue adds it there; until then DESIGN.md's 15020, the one number
     * here that is not read from the product.
     */
    static int adminPort() {
        try {
            JsonNode schema = new ObjectMapper().readTree(Repo.path("config/schema/sidecar.schema.json").toFile());
            JsonNode def = schema.path("properties").path("admin").path("properties").path("port").path("default");
            return def.isInt() ? def.asInt() : 15020;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static AuditConfig audit() {
        return AuditConfig.defaults();
    }
}
