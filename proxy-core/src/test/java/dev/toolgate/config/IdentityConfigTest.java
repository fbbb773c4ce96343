package dev.toolgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code identity} section as loaded from YAML, the {@code spire} source above all. */
class IdentityConfigTest {
    @TempDir
    Path dir;

    private SidecarConfig load(String yaml) throws Exception {
        Path p = dir.resolve("s.yaml");
        Files.writeString(p, yaml);
        return ConfigLoader.load(p);
    }

    @Test
    void spireNeedsNothingElseAndLeavesTheSocketToTheEnvironment() throws Exception {
        IdentityConfig id = load("identity: {source: spire}\n").identity();
        assertThat(id.source()).isEqualTo("spire");
        assertThat(id.socket()).as("unset: SPIFFE_ENDPOINT_SOCKET, then the default, at start").isNull();
        assertThat(id.spiffeId()).as("unset: the first SVID the agent offers").isNull();
        assertThat(id.startupTimeout()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void spireTakesSocketIdAndStartupTimeout() throws Exception {
        IdentityConfig id = load("""
                identity:
                  source: spire
                  socket: unix:///spiffe-workload-api/spire-agent.sock
                  spiffeId: spiffe://example.org/ns/agents/sa/toolgate
                  startupTimeout: 2m
                """).identity();
        assertThat(id.socket()).isEqualTo("unix:///spiffe-workload-api/spire-agent.sock");
        assertThat(id.spiffeId()).isEqualTo("spiffe://example.org/ns/agents/sa/toolgate");
        assertThat(id.startupTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(IdentityConfig.spire(null, null, null)).isEqualTo(load("identity: {source: spire}\n").identity());
    }

    @Test
    void badSpireSettingsAreNamedWithFileAndPath() {
        String file = dir.resolve("s.yaml").toString();
        assertThatThrownBy(() -> load("identity: {source: spire, socket: /run/spire/sockets/agent.sock}\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(file + ":1: identity: socket: /run/spire/sockets/agent.sock: ")
                .hasMessageEndingWith("(expected: unix:///path/to/agent.sock or tcp://IP:port)");
        assertThatThrownBy(() -> load("identity: {source: spire, socket: 'tcp://spire-agent:8081'}\n"))
                .hasMessageContaining("identity: socket: tcp://spire-agent:8081: ");
        assertThatThrownBy(() -> load("identity: {source: spire, spiffeId: 'spiffe://Example.org/x'}\n"))
                .hasMessageContaining("identity: spiffeId: ");
        assertThatThrownBy(() -> load("identity: {source: spire, spiffeId: 'spiffe://example.org'}\n"))
                .hasMessageContaining("identity: spiffeId: spiffe://example.org has no path");
        assertThatThrownBy(() -> load("identity: {source: spire, startupTimeout: 0s}\n"))
                .hasMessageContaining("identity: startupTimeout: PT0S (expected: > 0)");
    }

    @Test
    void filesTakeJwtBundlesByTrustDomainRelativeToTheFile() throws Exception {
        IdentityConfig id = load("""
                identity:
                  source: files
                  certificate: svid.pem
                  key: svid.key
                  bundle: bundle.pem
                  jwtBundles: {example.org: jwks/example.json, partner.org: /etc/partner.json}
                """).identity();
        assertThat(id.jwtBundles()).containsEntry("example.org", dir.resolve("jwks/example.json"))
                .containsEntry("partner.org", Path.of("/etc/partner.json")).hasSize(2);
        assertThat(load("identity: {source: spire}\n").identity().jwtBundles()).isEmpty();
        assertThatThrownBy(() -> load("identity: {source: spire, jwtBundles: {example.org: j.json}}\n"))
                .hasMessageContaining("identity: jwtBundles: not used by source spire (remove it; the Workload API"
                        + " streams the JWT bundles)");
        assertThatThrownBy(() -> load("identity: {source: dev, jwtBundles: {example.org: j.json}}\n"))
                .hasMessageContaining("identity: jwtBundles: not used by source dev");
        assertThatThrownBy(() -> load("identity: {source: files, certificate: c, key: k, bundle: b,"
                + " jwtBundles: {Example.ORG: j.json}}\n"))
                .hasMessageContaining("identity: jwtBundles: ");
    }

    @Test
    void filesTakeX509BundlesByTrustDomainRelativeToTheFile() throws Exception {
        IdentityConfig id = load("""
                identity:
                  source: files
                  certificate: svid.pem
                  key: svid.key
                  bundles: {example.org: bundles/example.pem, partner.org: /etc/partner.pem}
                """).identity();
        assertThat(id.bundle()).as("bundles alone: the own trust domain must be among them").isNull();
        assertThat(id.bundles()).containsEntry("example.org", dir.resolve("bundles/example.pem"))
                .containsEntry("partner.org", Path.of("/etc/partner.pem")).hasSize(2);
        IdentityConfig both = load("identity: {source: files, certificate: c, key: k, bundle: own.pem,"
                + " bundles: {partner.org: p.pem}}\n").identity();
        assertThat(both.bundle()).isEqualTo(dir.resolve("own.pem"));
        assertThat(both.bundles()).containsOnlyKeys("partner.org");
        assertThat(load("identity: {source: files, certificate: c, key: k, bundle: b}\n").identity().bundles())
                .isEmpty();
    }

    @Test
    void badX509BundlesAreNamedWithFileAndLine() {
        String file = dir.resolve("s.yaml").toString();
        assertThatThrownBy(() -> load("identity:\n  source: files\n  certificate: c\n  key: k\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(file + ":")
                .hasMessageContaining("identity: source files: certificate, key and bundle (or bundles by trust"
                        + " domain) are all required");
        assertThatThrownBy(() -> load("identity:\n  source: files\n  certificate: c\n  key: k\n"
                + "  bundles: {Example.ORG: b.pem}\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(file + ":")
                .hasMessageContaining("identity: bundles: ");
        assertThatThrownBy(() -> load("identity: {source: spire, bundles: {example.org: b.pem}}\n"))
                .hasMessageContaining("identity: bundles: not used by source spire (remove it)");
        assertThatThrownBy(() -> load("identity: {source: dev, bundles: {example.org: b.pem}}\n"))
                .hasMessageContaining("identity: bundles: not used by source dev (remove it)");
    }

    @Test
    void theListenerAcceptsJwtSvidsOnlyWhenEnabledAndWithAnAudience() throws Exception {
        JwtSvidConfig off = load("listener: {port: 0}\n").listener().jwtSvid();
        assertThat(off.enabled()).as("off by default").isFalse();
        JwtSvidConfig on = load("listener: {jwtSvid: {enabled: true, audience: toolgate, leeway: 30s}}\n")
                .listener().jwtSvid();
        assertThat(on).isEqualTo(new JwtSvidConfig(true, "toolgate", Duration.ofSeconds(30)));
        assertThat(load("listener: {jwtSvid: {enabled: true, audience: toolgate}}\n").listener().jwtSvid().leeway())
                .isEqualTo(JwtSvidConfig.DEFAULT_LEEWAY);
        assertThatThrownBy(() -> load("listener: {jwtSvid: {enabled: true}}\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("listener.jwtSvid: audience: required when enabled");
        assertThatThrownBy(() -> load("listener: {jwtSvid: {enabled: true, audience: a, leeway: 10m}}\n"))
                .hasMessageContaining("listener.jwtSvid: leeway: PT10M (expected: 0s..5m)");
        assertThatThrownBy(() -> load("listener: {jwtSvid: {enabled: yes-please, audience: a}}\n"))
                .hasMessageContaining("listener.jwtSvid.enabled");
    }

    @Test
    void settingsOfAnotherSourceAreMistakesNotSilentlyIgnored() {
        assertThatThrownBy(() -> load("identity: {source: spire, bundle: bundle.pem}\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("identity: bundle: not used by source spire (remove it)");
        assertThatThrownBy(() -> load("identity: {source: spire, trustDomain: example.org}\n"))
                .hasMessageContaining("identity: trustDomain: not used by source spire (remove it)");
        assertThatThrownBy(() -> load("identity: {source: dev, socket: 'unix:///a.sock'}\n"))
                .hasMessageContaining("identity: socket: not used by source dev (remove it)");
        assertThatThrownBy(() -> load("identity: {source: files, certificate: a, key: b, bundle: c, startupTimeout: 5s}\n"))
                .hasMessageContaining("identity: startupTimeout: not used by source files (remove it)");
        assertThatThrownBy(() -> load("identity: {source: vault}\n"))
                .hasMessageContaining("identity: source: vault (expected: dev, files or spire)");
    }
}
