package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.JdkSslContexts;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.Svid;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.RawHttpClient;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.SidecarExtension;
import dev.toolgate.testing.SidecarExtension.MemoryAudit;
import dev.toolgate.testing.TestPki;
import java.io.IOException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Predicate;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A client certificate refused in the TLS handshake leaves an audit record (deny, {@code DENY_NO_IDENTITY}, the rule
 * that failed, the presented ID marked unverified, the certificate's fingerprint), and a flood of refusals is summed
 * up in few records whose {@code count}s add up.
 */
class HandshakeAuditTest {
    private static final SpiffeId INTRUDER = SpiffeId.parse("spiffe://toolgate.test/agents/intruder");
    private static final SpiffeId TOOL = SpiffeId.parse("spiffe://toolgate.test/tools/crm");

    @RegisterExtension
    final SidecarExtension env = new SidecarExtension();

    @Test
    void certificateOfAForeignCaIsAudited() throws Exception {
        MemoryAudit audit = env.memoryAudit();
        ProxyServer proxy = start(audit, AccessConfig.defaults());
        Svid foreign = foreignCa().issue(INTRUDER);
        refuse(JdkSslContexts.client(foreign, env.pki().ca().bundles()), proxy);

        JsonNode r = audit.records().awaitLast("the refused handshake", handshake());
        assertThat(r.path("phase").asText()).isEqualTo("decision");
        assertThat(r.path("decision").asText()).isEqualTo("deny");
        assertThat(r.path("code").asText()).isEqualTo("DENY_NO_IDENTITY");
        assertThat(r.has("agent")).as("an unverified ID is never the agent").isFalse();
        assertThat(r.path("count").asLong()).isEqualTo(1);
        assertThat(r.path("reason").asText())
                .contains("untrusted_chain")
                .contains(INTRUDER.uri() + " (unverified)")
                .contains("sha256 " + sha256(foreign));
    }

    @Test
    void idOutsideAccessAgentsIsAudited() throws Exception {
        MemoryAudit audit = env.memoryAudit();
        ProxyServer proxy = start(audit,
                AccessConfig.defaults().withAgents(List.of("spiffe://toolgate.test/agents/*")));
        Svid tool = env.pki().issue(TOOL);
        refuse(JdkSslContexts.client(tool, env.pki().ca().bundles()), proxy);

        JsonNode r = audit.records().awaitLast("the refused handshake", handshake());
        assertThat(r.path("decision").asText()).isEqualTo("deny");
        assertThat(r.path("code").asText()).isEqualTo("DENY_NO_IDENTITY");
        assertThat(r.has("agent")).isFalse();
        assertThat(r.path("count").asLong()).isEqualTo(1);
        assertThat(r.path("reason").asText())
                .contains("id_not_allowed")
                .contains(TOOL.uri())
                .contains("sha256 " + sha256(tool));
    }

    @Test
    void aFloodOfRefusalsIsAggregated() throws Exception {
        MemoryAudit audit = env.memoryAudit();
        ProxyServer proxy = start(audit, AccessConfig.defaults());
        SSLContext intruder = JdkSslContexts.client(foreignCa().issue(INTRUDER), env.pki().ca().bundles());
        for (int i = 0; i < 50; i++) {
            refuse(intruder, proxy);
        }
        List<JsonNode> records = Await.value("records standing for all 50 refusals", () -> {
            List<JsonNode> found = audit.records().all().stream().filter(handshake()).toList();
            long sum = found.stream().mapToLong(n -> n.path("count").asLong()).sum();
            return sum >= 50 ? java.util.Optional.of(found) : java.util.Optional.empty();
        });
        assertThat(records.stream().mapToLong(n -> n.path("count").asLong()).sum()).isEqualTo(50);
        assertThat(records).hasSizeLessThan(15);
        assertThat(records).allSatisfy(n -> {
            assertThat(n.path("reason").asText()).contains("untrusted_chain").contains(INTRUDER.uri());
            assertThat(n.path("first_ts").asText()).isNotEmpty();
            assertThat(n.path("last_ts").asText()).isNotEmpty();
        });
    }

    private ProxyServer start(MemoryAudit audit, AccessConfig access) throws Exception {
        return env.start(env.builder(Sidecar.config(List.of(Sidecar.route("weather", "/api/weather",
                "http://127.0.0.1:1"))).withAccess(access)).audit(audit.trail()));
    }

    private DevCa foreignCa() throws Exception {
        return DevCa.openOrCreate(env.dir().resolve("foreign-ca"), TestPki.TRUST_DOMAIN);
    }

    private static void refuse(SSLContext ctx, ProxyServer proxy) {
        assertThatThrownBy(() -> {
            try (RawHttpClient client = new RawHttpClient(ctx, proxy.port())) {
                client.exchange("GET /api/weather/x HTTP/1.1\r\nHost: a\r\n\r\n");
            }
        }).isInstanceOf(IOException.class);
    }

    private static Predicate<JsonNode> handshake() {
        return n -> n.path("operation").asText().equals("TLS handshake");
    }

    private static String sha256(Svid svid) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(svid.leaf().getEncoded()));
    }
}
