package dev.toolgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.common.Protocol;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    private Path write(String name, String yaml) throws Exception {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, yaml);
        return p;
    }

    @Test
    void theShippedDefaultConfigAndExampleRoutesLoad() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(Path.of("../config/toolgate.yaml"));
        assertThat(cfg.listener().port()).isEqualTo(15001);
        assertThat(cfg.control().port()).isEqualTo(15010);
        assertThat(cfg.routes()).extracting(RouteConfig::name)
                .containsExactly("github-mcp", "weather", "crm", "inventory-grpc");
        RouteConfig grpc = cfg.routes().get(3);
        assertThat(grpc.protocol()).isEqualTo(Protocol.GRPC);
        assertThat(grpc.upstream().http2()).isTrue();
        assertThat(cfg.routes().get(1).timeouts().response()).isEqualTo(Duration.ofSeconds(10));
        assertThat(cfg.timeouts().connect()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void aRouteOptsInToIdentityHeadersAndBodiesAreCheckedUpToTheLimit() throws Exception {
        SidecarConfig shipped = ConfigLoader.load(Path.of("../config/toolgate.yaml"));
        assertThat(shipped.routes()).filteredOn(RouteConfig::identityHeaders).extracting(RouteConfig::name)
                .containsExactly("crm");
        assertThat(shipped.limits().maxCheckedBodyBytes()).isEqualTo(65536);
        SidecarConfig cfg = ConfigLoader.load(write("s.yaml", """
                listener: {port: 0}
                limits: {maxBodyBytes: 1000, maxCheckedBodyBytes: 4096}
                """));
        assertThat(cfg.limits().checkedBodyBytes()).as("never more than maxBodyBytes").isEqualTo(1000);
        assertThat(ConfigLoader.load(write("d.yaml", "listener: {port: 0}\n")).limits().checkedBodyBytes())
                .isEqualTo(65536);
        Path bad = write("b.yaml", "listener: {port: 0}\nlimits: {maxCheckedBodyBytes: -1}\n");
        assertThatThrownBy(() -> ConfigLoader.load(bad)).hasMessageContaining("maxCheckedBodyBytes");
        Path routes = write("routes/r.yaml", """
                routes:
                  - name: told
                    prefix: /api/told
                    upstream: {url: http://127.0.0.1:1}
                    identityHeaders: true
                  - name: plain
                    prefix: /api/plain
                    upstream: {url: http://127.0.0.1:2}
                """);
        assertThat(ConfigLoader.loadRoutes(routes)).extracting(RouteConfig::identityHeaders).containsExactly(true, false);
    }

    @Test
    void defaultsApplyWhenSectionsAreMissing() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(write("s.yaml", "listener: {port: 0}\n"));
        assertThat(cfg.limits().maxHeaderBytes()).isEqualTo(8192);
        assertThat(cfg.identity().source()).isEqualTo("dev");
        assertThat(cfg.routes()).isEmpty();
        assertThat(cfg.policies()).isEmpty();
        assertThat(cfg.unrestrictedWithoutPolicy()).as("fail closed unless opted out").isFalse();
        assertThat(cfg.audit().maxFiles()).as("audit retention: keep everything").isZero();
        assertThat(cfg.audit().maxTotalBytes()).isZero();
    }

    @Test
    void auditRetentionIsReadAndValidated() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(write("r.yaml",
                "audit: {maxFileBytes: 67108864, maxFiles: 12, maxTotalBytes: 805306368}\n"));
        assertThat(cfg.audit().maxFiles()).isEqualTo(12);
        assertThat(cfg.audit().maxTotalBytes()).isEqualTo(805_306_368L);
        assertThatThrownBy(() -> ConfigLoader.load(write("bad.yaml", "audit: {maxFiles: -1}\n")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("maxFiles: -1");
        assertThatThrownBy(() -> ConfigLoader.load(write("small.yaml",
                "audit: {maxFileBytes: 4096, maxTotalBytes: 4096}\n")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("at least twice maxFileBytes");
    }

    @Test
    void runningWithoutPolicyIsAnExplicitOptOutThatCannotBeMixedWithPolicies() throws Exception {
        assertThat(ConfigLoader.load(write("open.yaml", "unrestrictedWithoutPolicy: true\n"))
                .unrestrictedWithoutPolicy()).isTrue();
        Files.createDirectories(dir.resolve("policies"));
        assertThatThrownBy(() -> ConfigLoader.load(write("both.yaml", """
                unrestrictedWithoutPolicy: true
                policies: [policies/]
                """))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("both.yaml: unrestrictedWithoutPolicy: true, but policies names")
                .hasMessageContaining("expected: one or the other");
        assertThatThrownBy(() -> ConfigLoader.load(write("word.yaml", "unrestrictedWithoutPolicy: yes-please\n")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("unrestrictedWithoutPolicy");
    }

    @Test
    void aBadValueIsNamedWithFileAndPath() throws Exception {
        write("routes/a.yaml", """
                routes:
                  - name: ok
                    prefix: /ok
                    upstream: {url: http://127.0.0.1:1}
                  - name: bad
                    prefix: /bad
                    upstream: {url: ftp://x}
                """);
        Path main = write("s.yaml", "routes: [routes/]\n");
        assertThatThrownBy(() -> ConfigLoader.load(main))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("a.yaml")
                .hasMessageContaining("routes[1].upstream")
                .hasMessageContaining("expected: http:// or https://");
    }

    @Test
    void auditFsyncIsReadAndABadValueIsRefusedNamingTheChoices() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(write("f.yaml", "audit: {fsync: batch, fsyncInterval: 250ms}\n"));
        assertThat(cfg.audit().fsync()).isEqualTo("batch");
        assertThat(cfg.audit().fsyncInterval()).isEqualTo(Duration.ofMillis(250));
        SidecarConfig defaults = ConfigLoader.load(write("d.yaml", "listener: {port: 0}\n"));
        assertThat(defaults.audit().fsync()).isEqualTo("interval");
        assertThat(defaults.audit().fsyncInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThatThrownBy(() -> ConfigLoader.load(write("g.yaml", "audit: {fsync: always}\n")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("fsync").hasMessageContaining("interval, batch or never");
        assertThatThrownBy(() -> ConfigLoader.load(write("h.yaml", "audit: {fsyncInterval: 0s}\n")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("fsyncInterval");
    }

    @Test
    void unknownKeysAreErrorsNotSilentlyDropped() throws Exception {
        Path main = write("s.yaml", "limits: {maxBodyByte: 10}\n");
        assertThatThrownBy(() -> ConfigLoader.load(main))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("limits.maxBodyByte");
    }

    @Test
    void duplicateRoutesAndBadPrefixesAreRefused() throws Exception {
        write("r.yaml", """
                routes:
                  - {name: a, prefix: /x, upstream: {url: http://h}}
                  - {name: b, prefix: /x, upstream: {url: http://h}}
                """);
        assertThatThrownBy(() -> ConfigLoader.load(write("s.yaml", "routes: [r.yaml]\n")))
                .hasMessageContaining("r.yaml:3: routes[1]: /x is also matched by the route at ")
                .hasMessageContaining("r.yaml:2 (expected: one route per prefix or gRPC service)");
        write("r2.yaml", "routes:\n  - {name: a, prefix: /x/../y, upstream: {url: http://h}}\n");
        assertThatThrownBy(() -> ConfigLoader.load(write("s2.yaml", "routes: [r2.yaml]\n")))
                .hasMessageContaining("prefix");
        // The sidecar serves /_toolgate itself (task endpoints): a route there would shadow or be shadowed.
        write("r3.yaml", "routes:\n  - {name: a, prefix: /_toolgate/v1, upstream: {url: http://h}}\n");
        assertThatThrownBy(() -> ConfigLoader.load(write("s3.yaml", "routes: [r3.yaml]\n")))
                .hasMessageContaining("outside /_toolgate");
    }

    @Test
    void theTasksSectionIsLoadedWithItsJournalRelativeToTheFile() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(write("s.yaml", """
                tasks:
                  journal: state/tasks.journal
                  fsync: never
                  defaultTtl: 5m
                  maxTtl: 2h
                  maxDelegationDepth: 1
                """));
        assertThat(cfg.tasks().journal()).isEqualTo(dir.resolve("state/tasks.journal"));
        assertThat(cfg.tasks().fsync()).isEqualTo("never");
        assertThat(cfg.tasks().maxTtl()).isEqualTo(Duration.ofHours(2));
        assertThat(cfg.tasks().maxDelegationDepth()).isEqualTo(1);
        assertThat(ConfigLoader.load(write("d.yaml", "listener: {port: 0}\n")).tasks().journal()).isNull();
        assertThatThrownBy(() -> ConfigLoader.load(write("b.yaml", "tasks: {fsync: sometimes}\n")))
                .hasMessageContaining("fsync").hasMessageContaining("expected: always or never");
        assertThatThrownBy(() -> ConfigLoader.load(write("c.yaml", "tasks: {defaultTtl: 2h, maxTtl: 1h}\n")))
                .hasMessageContaining("defaultTtl");
    }

    @Test
    void theTaskStoreIsJournalWithAJournalMemoryWithoutOneOrAsNamed() throws Exception {
        assertThat(ConfigLoader.load(write("j.yaml", "tasks: {journal: t.journal}\n")).tasks().store())
                .isEqualTo("journal");
        assertThat(ConfigLoader.load(write("m.yaml", "listener: {port: 0}\n")).tasks().store()).isEqualTo("memory");
        assertThat(ConfigLoader.load(write("n.yaml", "tasks: {store: memory}\n")).tasks().store())
                .isEqualTo("memory");
        assertThatThrownBy(() -> ConfigLoader.load(write("b.yaml", "tasks: {store: redis}\n")))
                .hasMessageContaining("b.yaml:1: tasks: store: \"redis\" (expected: journal, memory or etcd)");
        assertThatThrownBy(() -> ConfigLoader.load(write("c.yaml", "tasks: {store: journal}\n")))
                .hasMessageContaining("journal: missing (expected: the journal file, with store: journal)");
        assertThatThrownBy(() -> ConfigLoader.load(write("d.yaml", "tasks: {store: memory, journal: t.journal}\n")))
                .hasMessageContaining("is set, but store is memory (expected: no journal, or store: journal)");
    }

    private SidecarConfig defaultsOf(String yaml) throws Exception {
        return ConfigLoader.load(write("defaults.yaml", yaml));
    }

    @Test
    void theEtcdSectionGoesWithTheEtcdStoreAndIsValidated() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(write("s.yaml", """
                tasks:
                  store: etcd
                etcd:
                  endpoints: [https://etcd-0.etcd:2379, https://etcd-1.etcd:2379]
                  tls: {ca: pki/ca.pem, certificate: pki/sidecar.pem, key: pki/sidecar.key}
                  prefix: /fleet-a/
                  dialTimeout: 2s
                  requestTimeout: 1500ms
                """));
        assertThat(cfg.tasks().store()).isEqualTo("etcd");
        assertThat(cfg.etcd().endpoints()).containsExactly("https://etcd-0.etcd:2379", "https://etcd-1.etcd:2379");
        assertThat(cfg.etcd().tls().ca()).isEqualTo(dir.resolve("pki/ca.pem"));
        assertThat(cfg.etcd().tls().key()).isEqualTo(dir.resolve("pki/sidecar.key"));
        assertThat(cfg.etcd().prefix()).isEqualTo("/fleet-a/");
        assertThat(cfg.etcd().dialTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(cfg.etcd().requestTimeout()).isEqualTo(Duration.ofMillis(1500));
        EtcdConfig defaults = ConfigLoader.load(write("d.yaml",
                "tasks: {store: etcd}\netcd: {endpoints: [http://127.0.0.1:2379]}\n")).etcd();
        assertThat(defaults.prefix()).isEqualTo("/toolgate/");
        assertThat(defaults.tls()).isNull();
        assertThat(defaults.requestTimeout()).isEqualTo(Duration.ofSeconds(5));

        assertThatThrownBy(() -> ConfigLoader.load(write("a.yaml", "tasks: {store: etcd}\n")))
                .hasMessageContaining("a.yaml: etcd: endpoints missing, but tasks.store is etcd");
        assertThatThrownBy(() -> ConfigLoader.load(write("b.yaml", "etcd: {endpoints: [http://127.0.0.1:2379]}\n")))
                .hasMessageContaining("b.yaml: etcd: set, but tasks.store is memory (expected: tasks.store: etcd,"
                        + " or no etcd section)");
        assertThatThrownBy(() -> ConfigLoader.load(write("c.yaml",
                "tasks: {store: etcd}\netcd: {endpoints: [https://127.0.0.1:2379]}\n")))
                .hasMessageContaining("endpoints[0]: \"https://127.0.0.1:2379\" (expected: http://host:port;"
                        + " https needs tls)");
        assertThatThrownBy(() -> ConfigLoader.load(write("e.yaml",
                "tasks: {store: etcd}\netcd: {endpoints: [http://127.0.0.1:2379], prefix: toolgate}\n")))
                .hasMessageContaining("prefix: \"toolgate\" (expected: printable ASCII without spaces that"
                        + " starts and ends with /");
        assertThatThrownBy(() -> ConfigLoader.load(write("f.yaml",
                "tasks: {store: etcd}\netcd: {endpoints: [http://127.0.0.1:2379], requestTimeout: 0s}\n")))
                .hasMessageContaining("requestTimeout: PT0S (expected: > 0 and <= 1m)");
        assertThatThrownBy(() -> ConfigLoader.load(write("g.yaml",
                "tasks: {store: etcd}\netcd: {endpoints: [https://h:2379], tls: {certificate: c.pem}}\n")))
                .hasMessageContaining("ca: missing");
        assertThat(ConfigLoader.load(write("i.yaml", "tasks: {store: etcd}\netcd: {endpoints: [http://e:2379]}\n"
                + "fleet: {maxStaleness: 2s}\n")).fleet().maxStaleness()).isEqualTo(Duration.ofSeconds(2));
        assertThat(defaultsOf("tasks: {store: etcd}\netcd: {endpoints: [http://e:2379]}\n").fleet().maxStaleness())
                .isEqualTo(Duration.ofSeconds(5));
        assertThatThrownBy(() -> ConfigLoader.load(write("j.yaml", "tasks: {store: etcd}\netcd: {endpoints:"
                + " [http://e:2379]}\nfleet: {maxStaleness: 10ms}\n")))
                .hasMessageContaining("fleet: maxStaleness: PT0.01S (expected: 100ms to 1h)");
        assertThatThrownBy(() -> ConfigLoader.load(write("k.yaml", "fleet: {maxStaleness: 2s}\n")))
                .hasMessageContaining("fleet: set, but tasks.store is memory (expected: tasks.store: etcd, or no"
                        + " fleet section)");
        assertThatThrownBy(() -> ConfigLoader.load(write("h.yaml",
                "tasks: {store: etcd}\netcd: {endpoints: [http://127.0.0.1:2379], endpoint: x}\n")))
                .hasMessageContaining("h.yaml:2: etcd.endpoint: unknown key (expected: one of dialTimeout,"
                        + " endpoints, prefix, requestTimeout, tls); did you mean endpoints?");
    }

    @Test
    void theControlSectionIsLoadedAndValidated() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(write("s.yaml", """
                control:
                  address: 0.0.0.0
                  port: 0
                  tailBuffer: 16
                """));
        assertThat(cfg.control().address()).isEqualTo("0.0.0.0");
        assertThat(cfg.control().port()).isZero();
        assertThat(cfg.control().tailBuffer()).isEqualTo(16);
        ControlConfig defaults = ConfigLoader.load(write("d.yaml", "listener: {port: 0}\n")).control();
        assertThat(defaults.address()).isEqualTo("127.0.0.1");
        assertThat(defaults.port()).isEqualTo(15010);
        assertThat(defaults.tailBuffer()).isEqualTo(1024);
        assertThatThrownBy(() -> ConfigLoader.load(write("b.yaml", "control: {tailBuffer: 0}\n")))
                .hasMessageContaining("b.yaml:1: control: tailBuffer: 0 (expected: 1..1000000)");
        assertThatThrownBy(() -> ConfigLoader.load(write("e.yaml", "control: {admins: []}\n")))
                .hasMessageContaining("e.yaml:1: control.admins: unknown key (expected: one of address, port,"
                        + " tailBuffer)");
    }

    @Test
    void theApprovalsSectionIsLoadedAndBadValuesAreRefused() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(write("s.yaml", """
                approvals:
                  pendingFor: 2m
                  validFor: 30s
                  calls: 3
                  maxPending: 50
                  maxPendingPerTask: 5
                """));
        assertThat(cfg.approvals().pendingFor()).isEqualTo(Duration.ofMinutes(2));
        assertThat(cfg.approvals().validFor()).isEqualTo(Duration.ofSeconds(30));
        assertThat(cfg.approvals().calls()).isEqualTo(3);
        assertThat(cfg.approvals().maxPending()).isEqualTo(50);
        assertThat(cfg.approvals().maxPendingPerTask()).isEqualTo(5);
        SidecarConfig defaults = ConfigLoader.load(write("d.yaml", "listener: {port: 0}\n"));
        assertThat(defaults.approvals()).isEqualTo(ApprovalsConfig.defaults());
        assertThat(defaults.approvals().calls()).isEqualTo(1);
        assertThat(defaults.approvals().validFor()).isEqualTo(Duration.ofMinutes(5));
        assertThat(defaults.approvals().pendingFor()).isEqualTo(Duration.ofMinutes(10));
        // Hostile values: each refused with the file, the path and what was expected.
        assertThatThrownBy(() -> ConfigLoader.load(write("b1.yaml", "approvals: {calls: 0}\n")))
                .hasMessageContaining("b1.yaml:1: approvals: calls: 0 (expected: 1..1000000)");
        assertThatThrownBy(() -> ConfigLoader.load(write("b2.yaml", "approvals: {calls: -4}\n")))
                .hasMessageContaining("b2.yaml:1: approvals: calls: -4 (expected: 1..1000000)");
        assertThatThrownBy(() -> ConfigLoader.load(write("b3.yaml", "approvals: {validFor: 0s}\n")))
                .hasMessageContaining("b3.yaml:1: approvals: validFor: PT0S (expected: > 0 and at most 24h)");
        assertThatThrownBy(() -> ConfigLoader.load(write("b4.yaml", "approvals: {pendingFor: -5m}\n")))
                .hasMessageContaining("b4.yaml:1: approvals.pendingFor").hasMessageContaining("expected: a duration");
        assertThatThrownBy(() -> ConfigLoader.load(write("b5.yaml", "approvals: {pendingFor: 0ms}\n")))
                .hasMessageContaining("approvals: pendingFor: PT0S (expected: > 0 and at most 24h)");
        assertThatThrownBy(() -> ConfigLoader.load(write("b6.yaml", "approvals: {validFor: 48h}\n")))
                .hasMessageContaining("validFor: PT48H (expected: > 0 and at most 24h)");
        assertThatThrownBy(() -> ConfigLoader.load(write("b7.yaml", "approvals: {maxPending: 0}\n")))
                .hasMessageContaining("approvals: maxPending: 0 (expected: 1..1000000)");
        assertThatThrownBy(() -> ConfigLoader.load(write("b8.yaml", "approvals: {maxPendingPerTask: -1}\n")))
                .hasMessageContaining("approvals: maxPendingPerTask: -1 (expected: 1..1000, at most maxPending)");
        assertThatThrownBy(() -> ConfigLoader.load(write("b9.yaml",
                "approvals: {maxPending: 4, maxPendingPerTask: 5}\n")))
                .hasMessageContaining("maxPendingPerTask: 5 (expected: 1..4, at most maxPending)");
        assertThatThrownBy(() -> ConfigLoader.load(write("b10.yaml", "approvals: {calls: lots}\n")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("b10.yaml:1: approvals.calls");
        assertThatThrownBy(() -> ConfigLoader.load(write("b11.yaml", "approvals: {window: 5m}\n")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("b11.yaml:1: approvals.window");
    }

    @Test
    void theAccessSectionNamesEveryAllowList() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(write("s.yaml", """
                access:
                  agents: ["spiffe://td/agents/*"]
                  control: ["spiffe://td/agents/*", "spiffe://td/ops/**"]
                  orchestrators: ["spiffe://td/orchestrators/*"]
                  admins: ["spiffe://td/ops/admin"]
                  approvers: ["spiffe://td/ops/approvers/*"]
                  auditors: ["spiffe://td/ops/siem"]
                  extAuthz: ["spiffe://td/mesh/envoy"]
                """));
        AccessConfig access = cfg.access();
        assertThat(access.agents()).containsExactly("spiffe://td/agents/*");
        assertThat(access.controlPatterns()).hasSize(2);
        assertThat(access.orchestrators()).containsExactly("spiffe://td/orchestrators/*");
        assertThat(access.admins()).containsExactly("spiffe://td/ops/admin");
        assertThat(access.approverPatterns()).hasSize(1);
        assertThat(access.auditors()).containsExactly("spiffe://td/ops/siem");
        assertThat(access.extAuthz()).containsExactly("spiffe://td/mesh/envoy");
        // Absent: every list empty (any verified agent and control caller; no privilege for anyone).
        assertThat(ConfigLoader.load(write("d.yaml", "listener: {port: 0}\n")).access())
                .isEqualTo(AccessConfig.defaults());
        assertThat(AccessConfig.defaults().agents()).isEmpty();
        assertThatThrownBy(() -> ConfigLoader.load(write("b.yaml", "access: {approvers: [\"ops\"]}\n")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("b.yaml:1: access: approvers: ").hasMessageContaining("\"ops\" (expected: spiffe://");
        assertThatThrownBy(() -> ConfigLoader.load(write("c.yaml", "access: {admin: []}\n")))
                .hasMessageContaining("c.yaml:1: access.admin: unknown key (expected: one of admins, agents, approvers,"
                        + " auditors, control, extAuthz, orchestrators)");
    }

    /** Hostile: an allow-list under its old key is refused, naming the file, the line and the key that replaced it. */
    @Test
    void theOldAllowListKeysAreRefusedNamingTheirNewKey() throws Exception {
        String[][] moved = {
                {"listener", "allowedIds", "access.agents"},
                {"control", "allowedIds", "access.control"},
                {"tasks", "orchestrators", "access.orchestrators"},
                {"tasks", "admins", "access.admins"},
                {"control", "approvers", "access.approvers"},
                {"control", "auditors", "access.auditors"},
                {"control", "extAuthzClients", "access.extAuthz"},
        };
        for (String[] m : moved) {
                        String sibling = m[0].equals("tasks") ? "maxActive: 5" : "port: 0";
            Path file = write("old-" + m[0] + "-" + m[1] + ".yaml", "# before\n" + m[0] + ":\n  " + sibling
                    + "\n  " + m[1] + ": [\"spiffe://td/x/*\"]\n");
            assertThatThrownBy(() -> ConfigLoader.load(file)).as(m[0] + "." + m[1])
                    .isInstanceOf(ConfigException.class)
                    .hasMessage(file + ":4: " + m[0] + "." + m[1] + ": moved (expected: " + m[2] + ")");
        }
    }

    @Test
    void durationsAreHumanReadableAndValidated() throws Exception {
        assertThat(ConfigLoader.parseDuration("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(ConfigLoader.parseDuration("1h")).isEqualTo(Duration.ofHours(1));
        Path main = write("s.yaml", "timeouts: {connect: 5 seconds}\n");
        assertThatThrownBy(() -> ConfigLoader.load(main)).hasMessageContaining("timeouts.connect")
                .hasMessageContaining("expected: a duration");
    }

    @Test
    void malformedYamlAndMissingFilesAreClearErrors() throws Exception {
        assertThatThrownBy(() -> ConfigLoader.load(write("s.yaml", "listener: [\n")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("s.yaml");
        assertThatThrownBy(() -> ConfigLoader.load(write("t.yaml", "routes: [nope/]\n")))
                .hasMessageContaining("expected: an existing file or directory");
    }

    @Test
    void routeCredentialsLoadWithFilePathsRelativeToTheRouteFile() throws Exception {
        write("routes/tools.yaml", """
                routes:
                  - name: weather
                    prefix: /api/weather
                    upstream: {url: http://127.0.0.1:1}
                    credential: {type: static, env: WEATHER_API_KEY, header: X-Api-Key}
                  - name: billing
                    prefix: /api/billing
                    upstream: {url: http://127.0.0.1:2}
                    credential: {type: static, file: secrets/billing.key, prefix: "Bearer "}
                  - name: crm
                    prefix: /api/crm
                    upstream: {url: http://127.0.0.1:3}
                    credential: {type: task-jwt, audience: "https://crm.example", ttl: 2m}
                  - name: hr
                    prefix: /api/hr
                    upstream: {url: http://127.0.0.1:4}
                    credential: {type: task-jwt, audience: "spiffe://toolgate.dev/tools/hr"}
                  - name: plain
                    prefix: /api/plain
                    upstream: {url: http://127.0.0.1:5}
                """);
        SidecarConfig cfg = ConfigLoader.load(write("s.yaml", "routes: [routes/]\n"));
        assertThat(cfg.routes()).extracting(RouteConfig::credential).extracting(c -> c == null ? null : c.type())
                .containsExactly("static", "static", "task-jwt", "task-jwt", null);
        CredentialConfig weather = cfg.routes().get(0).credential();
        assertThat(weather.env()).isEqualTo("WEATHER_API_KEY");
        assertThat(weather.header()).isEqualTo("x-api-key");
        CredentialConfig billing = cfg.routes().get(1).credential();
        assertThat(billing.file()).isEqualTo(dir.resolve("routes/secrets/billing.key").toAbsolutePath());
        assertThat(billing.header()).isEqualTo("authorization");
        assertThat(billing.prefix()).isEqualTo("Bearer ");
        CredentialConfig crm = cfg.routes().get(2).credential();
        assertThat(crm.audience()).isEqualTo("https://crm.example");
        assertThat(crm.ttl()).isEqualTo(Duration.ofMinutes(2));
        assertThat(cfg.routes().get(3).credential().ttl()).isEqualTo(Duration.ofMinutes(5));
        assertThat(ConfigLoader.loadRoutes(dir.resolve("routes/tools.yaml")).get(1).credential().file())
                .isEqualTo(billing.file());
    }

    @Test
    void badCredentialsAreNamedWithFileRouteAndWhatWasExpected() throws Exception {
        String route = "routes:\n  - {name: a, prefix: /a, upstream: {url: http://h}, credential: %s}\n";
        String[][] cases = {
                {"{type: static, env: K, header: \"x y\"}",
                        "routes[0].credential: header: \"x y\" (expected: an HTTP header name)"},
                {"{type: static, env: K, header: Host}", "header: \"Host\" (expected: a header the sidecar does not own"},
                {"{type: static, env: K, header: toolgate-task}", "header: \"toolgate-task\""},
                {"{type: static, env: K, header: \":authority\"}", "(expected: not a pseudo-header)"},
                {"{type: static, env: K, file: k.txt}", "exactly one of file or env"},
                {"{type: static}", "exactly one of file or env"},
                {"{type: task-jwt}", "audience: null (expected:"},
                {"{type: task-jwt, audience: x, ttl: 5s}", "ttl: PT5S (expected: 1m..24h)"},
                {"{type: task-jwt, audience: x, ttl: soon}", "expected: a duration"},
                {"{type: task-jwt, audience: x, env: K}", "env: set for type task-jwt"},
                {"{type: oauth}", "type: \"oauth\" (expected: static or task-jwt)"},
                {"{type: static, env: K, secret: x}", "routes[0].credential.secret"},
        };
        for (String[] c : cases) {
            Path file = write("bad.yaml", route.formatted(c[0]));
            assertThatThrownBy(() -> ConfigLoader.loadRoutes(file))
                    .as(c[0])
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("bad.yaml:2: routes[0].credential")
                    .hasMessageContaining(c[1]);
        }
    }

    @Test
    void anMcpRouteMayCaptureNamedArgumentsWithItsOwnRedactionPatterns() throws Exception {
        SidecarConfig shipped = ConfigLoader.load(Path.of("../config/toolgate.yaml"));
        assertThat(shipped.routes().get(0).audit().captureArgs()).containsExactly("repo", "query");
        Path file = write("routes/mcp.yaml", """
                routes:
                  - name: tools
                    prefix: /mcp/tools
                    protocol: mcp
                    upstream: {url: http://127.0.0.1:1}
                    audit: {captureArgs: [repo, query], redact: ['ACME-[0-9]{6}']}
                  - name: plain
                    prefix: /mcp/plain
                    protocol: mcp
                    upstream: {url: http://127.0.0.1:2}
                """);
        List<RouteConfig> routes = ConfigLoader.loadRoutes(file);
        assertThat(routes.get(0).audit()).isEqualTo(new RouteAuditConfig(List.of("repo", "query"),
                List.of("ACME-[0-9]{6}")));
        assertThat(routes.get(0).audit().redactPatterns()).hasSize(1);
        assertThat(routes.get(1).audit()).isNull();
    }

    @Test
    void protocolsAreReadByTheirLowerCaseNamesAndAnyOtherIsNamedWithFileAndLine() throws Exception {
        Path good = write("p-good.yaml", """
                routes:
                  - {name: a, prefix: /a, upstream: {url: http://h}}
                  - {name: m, prefix: /m, protocol: mcp, upstream: {url: http://h}}
                  - {name: h, prefix: /h, protocol: http, upstream: {url: http://h}}
                  - {name: g, grpc: a.B, protocol: grpc, upstream: {url: http://h}}
                  - {name: d, grpc: a.C, upstream: {url: http://h}}
                """);
        assertThat(ConfigLoader.loadRoutes(good)).extracting(RouteConfig::protocol)
                .containsExactly(Protocol.HTTP, Protocol.MCP, Protocol.HTTP, Protocol.GRPC, Protocol.GRPC);
        String[][] cases = {
                {"MCP", ":5: routes[0].protocol: unknown protocol \"MCP\" (expected: http, grpc or mcp)"},
                {"ftp", ":5: routes[0].protocol: unknown protocol \"ftp\" (expected: http, grpc or mcp)"},
                {"\"mcp\\u0000\"", ":5: routes[0].protocol: unknown protocol \"mcp\\u0000\" (expected: http, grpc or mcp)"},
                {"[mcp]", ":5: routes[0].protocol: unknown protocol \"\" (expected: http, grpc or mcp)"},
        };
        for (String[] c : cases) {
            Path file = write("p-bad.yaml", "routes:\n  - name: a\n    prefix: /a\n    upstream: {url: http://h}\n"
                    + "    protocol: " + c[0] + "\n");
            assertThatThrownBy(() -> ConfigLoader.loadRoutes(file)).as(c[0])
                    .isInstanceOf(ConfigException.class)
                    .hasMessage(file + c[1]);
        }
        Path grpcAsMcp = write("p-grpc.yaml", "routes:\n  - {name: g, grpc: a.B, protocol: mcp, upstream: {url: http://h}}\n");
        assertThatThrownBy(() -> ConfigLoader.loadRoutes(grpcAsMcp))
                .hasMessage(grpcAsMcp + ":2: routes[0]: protocol: \"mcp\" (expected: grpc for a grpc route)");
    }

    @Test
    void badArgumentCaptureSettingsAreNamedWithFileRouteAndWhatWasExpected() throws Exception {
        String route = "routes:\n  - {name: a, prefix: /a, protocol: %s, upstream: {url: http://h}, audit: %s}\n";
        String[][] cases = {
                {"mcp", "{redact: [x]}", "routes[0].audit: captureArgs: missing"},
                {"mcp", "{captureArgs: []}", "captureArgs: missing"},
                {"mcp", "{captureArgs: [repo, repo]}", "captureArgs[1]: \"repo\" is listed twice"},
                {"mcp", "{captureArgs: [\"\"]}", "captureArgs[0]: \"\" (expected: an argument name"},
                {"mcp", "{captureArgs: [\"a\\tb\"]}", "no control characters"},
                {"mcp", "{captureArgs: [repo], redact: ['(unclosed']}",
                        "redact[0]: \"(unclosed\" (expected: a Java regular expression: Unclosed group"},
                {"mcp", "{captureArgs: [repo], redact: ['x*']}", "redact[0]: \"x*\" matches the empty string"},
                {"mcp", "{captureArgs: [repo], redact: ['']}", "redact[0]: \"\" (expected: a regular expression"},
                {"mcp", "{captureArgs: [repo], mask: [x]}", "routes[0].audit.mask"},
                {"http", "{captureArgs: [repo]}", "route a: audit.captureArgs: only MCP calls have arguments"
                        + " (expected: protocol mcp, got http)"},
        };
        for (String[] c : cases) {
            Path file = write("bad.yaml", route.formatted(c[0], c[1]));
            assertThatThrownBy(() -> ConfigLoader.loadRoutes(file))
                    .as(c[1])
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("bad.yaml:2: routes[0]")
                    .hasMessageContaining(c[2]);
        }
        List<String> many = new java.util.ArrayList<>();
        for (int i = 0; i < 33; i++) {
            many.add("a" + i);
        }
        assertThatThrownBy(() -> new RouteAuditConfig(many, null))
                .hasMessage("captureArgs: 33 names (expected: at most 32)");
    }

    /**
     * A misspelled key is reported as unknown, with the nearest valid key, before the record it belongs to can
     * complain that the key it meant is missing.
     */
    @Test
    void aMisspelledKeyIsUnknownBeforeAnythingIsRequired() throws Exception {
        assertThatThrownBy(() -> ConfigLoader.load(write("i.yaml",
                "identity: {source: files, certificate: a, key: b, bundel: c}\n")))
                .hasMessageContaining("i.yaml:1: identity.bundel: unknown key (expected: one of bundle,")
                .hasMessageEndingWith("; did you mean bundle?")
                .hasMessageNotContaining("required");
        assertThatThrownBy(() -> ConfigLoader.loadRoutes(write("r.yaml",
                "routes:\n  - name: a\n    upstream: {url: http://127.0.0.1:1}\n    prefx: /a\n")))
                .hasMessageContaining("r.yaml:4: routes[0].prefx: unknown key (expected: one of ")
                .hasMessageEndingWith("; did you mean prefix?")
                .hasMessageNotContaining("required");
        assertThatThrownBy(() -> ConfigLoader.loadRoutes(write("u.yaml",
                "routes:\n  - name: a\n    prefix: /a\n    upstrem: {url: http://127.0.0.1:1}\n")))
                .hasMessageContaining("u.yaml:4: routes[0].upstrem: unknown key")
                .hasMessageEndingWith("; did you mean upstream?");
        assertThatThrownBy(() -> ConfigLoader.loadRoutes(write("v.yaml",
                "routes:\n  - name: a\n    prefix: /a\n    upstream: {ulr: http://127.0.0.1:1}\n")))
                .hasMessageContaining("v.yaml:4: routes[0].upstream.ulr: unknown key (expected: one of http,"
                        + " spiffeId, url); did you mean url?");
        assertThatThrownBy(() -> ConfigLoader.load(write("l.yaml", "listner: {port: 0}\n")))
                .hasMessageEndingWith("l.yaml:1: listner: unknown key (expected: one of access, admin, approvals,"
                        + " audit, control, etcd, fleet, identity, limits, listener, policies, routes, tasks,"
                        + " timeouts, unrestrictedWithoutPolicy); did you mean listener?");
        // Nothing within two edits: no guess.
        assertThatThrownBy(() -> ConfigLoader.load(write("n.yaml", "listener: {portNumber: 0}\n")))
                .hasMessageEndingWith("listener.portNumber: unknown key (expected: one of address, jwtSvid, port)");
    }
}
