package dev.toolgate.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import dev.toolgate.config.AccessConfig;
import dev.toolgate.config.ConfigLoader;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/helm/toolgate rendered by Helm's own template engine (helm-java: the Helm Go library, no helm binary),
 * with its default values and with others, then parsed strictly as Kubernetes objects and held to the same
 * checks as the kustomize manifests (PodChecks).
 *
 * <p>helm-java reports Kubernetes v1.20 as the cluster version, so the chart is rendered from a copy without its
 * {@code kubeVersion: >=1.29.0-0} constraint (native sidecars); the constraint itself is checked separately.
 */
class HelmChartTest {
    private static final String CHART = "deploy/helm/toolgate";
    private static final String NAMESPACE = "agents";
    private static final YAMLMapper YAML = new YAMLMapper();
    private static Path chart;

    @BeforeAll
    static void copyChart() throws IOException {
        chart = Files.createTempDirectory("toolgate-chart-");
        Path source = Repo.path(CHART);
        try (Stream<Path> files = Files.walk(source)) {
            for (Path f : files.toList()) {
                Path to = chart.resolve(source.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        Path chartYaml = chart.resolve("Chart.yaml");
        Files.writeString(chartYaml, Files.readString(chartYaml).replaceAll("(?m)^kubeVersion:.*$", ""));
    }

    @AfterAll
    static void removeCopy() throws IOException {
        try (Stream<Path> files = Files.walk(chart)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    @Test
    void defaultValuesAreTheSidecarsDefaults() throws Exception {
        JsonNode values = YAML.readTree(Repo.path(CHART + "/values.yaml").toFile());
        assertThat(values.at("/ports/agent").asInt()).as("ports.agent vs ListenerConfig.DEFAULT_PORT")
                .isEqualTo(ProductDefaults.agentPort());
        assertThat(values.at("/ports/admin").asInt()).as("ports.admin").isEqualTo(ProductDefaults.adminPort());
        assertThat(values.at("/uid").asInt()).as("uid vs the image's USER").isEqualTo(Image.facts().uid());
        assertThat(values.at("/audit/queue").asInt()).isEqualTo(ProductDefaults.audit().queue());
        assertThat(ConfigLoader.parseDuration(values.at("/audit/maxWait").asText()))
                .isEqualTo(ProductDefaults.audit().maxWait());
        assertThat(values.at("/limits").isEmpty() && values.at("/timeouts").isEmpty())
                .as("limits and timeouts default to the sidecar's own").isTrue();

        JsonNode meta = YAML.readTree(Repo.path(CHART + "/Chart.yaml").toFile());
        assertThat(meta.path("kubeVersion").asText()).as("native sidecars").isEqualTo(">=1.29.0-0");
        Matcher version = Pattern.compile("<version>([^<]+)</version>").matcher(Repo.read("pom.xml"));
        assertThat(version.find()).isTrue();
        assertThat(version.group(1)).startsWith(meta.path("appVersion").asText());
    }

    @Test
    void lintPasses() {
        LintResult lint = new Helm(chart).lint().strict().call();
        assertThat(lint.isFailed()).as("helm lint: %s", lint.getMessages()).isFalse();
    }

    @Test
    void rendersWithDefaultValues(@TempDir Path scratch) {
        Manifests m = render(Map.of(), null);
        PodChecks.Pod pod = PodChecks.check("helm (defaults)", m, scratch, true);
        assertThat(pod.config().routes()).isEmpty();
        assertThat(pod.config().access()).as("no access lists: the sidecar's defaults")
                .isEqualTo(AccessConfig.defaults());
        PodChecks.checkClusterSpiffeIds("helm (defaults)", m.custom("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID"),
                pod, NAMESPACE);
        assertThat(m.all(NetworkPolicy.class)).as("the NetworkPolicy is opt-in").isEmpty();
        assertThat(pod.deployment().getSpec().getTemplate().getMetadata().getAnnotations())
                .as("a config change rolls the pods").containsKey("checksum/toolgate-config");
        // Deny by default: the policy directory is there, with no document in it.
        assertThat(m.named(ConfigMap.class, "travel-toolgate-policies").getData()).containsOnlyKeys("README");
        assertThat(pod.policy().documents()).as("no document: every grant is refused").isEmpty();
        assertThat(pod.policy().isUnrestricted()).isFalse();
        // State in the pod: the journal on its own volume, the audit trail bounded below its volume.
        assertThat(pod.config().tasks().journal()).isNotNull();
        assertThat(pod.config().audit().maxTotalBytes()).isPositive();
    }

    @Test
    void auditRetentionAboveTheVolumeLimitIsCaught(@TempDir Path scratch) {
        Manifests m = render(Map.of("audit.maxTotalBytes", "2147483648"), null);
        assertThatThrownBy(() -> PodChecks.check("helm (2 GiB of audit on 1Gi)", m, scratch, true))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("keeps the trail below the volume's sizeLimit");
    }

    @Test
    void aRouteChangeReloadsInPlaceWhileAConfigChangeRollsThePods(@TempDir Path scratch) throws IOException {
        Path one = Files.writeString(scratch.resolve("one.yaml"),
                "routes:\n  - {name: crm, prefix: /api/crm, upstream: {url: \"https://crm.example\"}}\n");
        Path two = Files.writeString(scratch.resolve("two.yaml"),
                "routes:\n  - {name: crm, prefix: /api/crm, upstream: {url: \"https://crm2.example\"}}\n");
        String first = checksum(render(Map.of(), one));
        assertThat(checksum(render(Map.of(), two))).as("routes reload in place: the pods stay").isEqualTo(first);
        assertThat(checksum(render(Map.of("audit.maxWait", "5s"), one))).as("the sidecar config rolls the pods")
                .isNotEqualTo(first);
    }

    private static String checksum(Manifests m) {
        return m.all(Deployment.class).get(0).getSpec().getTemplate().getMetadata().getAnnotations()
                .get("checksum/toolgate-config");
    }

    @Test
    void rendersRoutesSecretIdentityDnsAndNetworkPolicy(@TempDir Path scratch) throws IOException {
        Path values = scratch.resolve("values.yaml");
        Files.writeString(values, """
                agent:
                  name: planner
                  image: {repository: registry.example.com/agents/planner, tag: "1.0"}
                  env:
                    - {name: CRM_URL, value: "https://localhost:15001/api/crm"}
                routes:
                  - name: crm
                    prefix: /api/crm
                    upstream:
                      url: https://crm.tools.svc.cluster.local:8443/v2
                      spiffeId: spiffe://example.org/ns/tools/sa/crm
                    labels: [pii]
                  - name: weather
                    prefix: /api/weather
                    upstream: {url: "https://api.weather.example"}
                policies:
                  base.yaml:
                    kind: Policy
                    name: base
                    subjects: ["spiffe://example.org/ns/agents/**"]
                    allow:
                      - {name: crm-read, route: crm, operations: ["GET /customers/*"]}
                identity:
                  source: secret
                  secret: {name: planner-svid}
                limits: {maxBodyBytes: 1048576}
                timeouts: {response: 20s}
                access:
                  agents: ["spiffe://example.org/ns/agents/sa/planner"]
                  admins: ["spiffe://example.org/ns/ops/sa/admin"]
                egressLock:
                  allowDns: true
                  dnsServers: ["10.96.0.10"]
                  allowUids: [4000]
                networkPolicy:
                  enabled: true
                  egress:
                    - to: [{ipBlock: {cidr: 10.0.0.0/8}}]
                      ports: [{protocol: TCP, port: 8443}]
                    - to: [{ipBlock: {cidr: 203.0.113.0/24}}]
                      ports: [{protocol: TCP, port: 443}]
                """);
        Path podRoot = Files.createDirectories(scratch.resolve("pod"));
        Manifests m = render(Map.of(), values);
        PodChecks.Pod pod = PodChecks.check("helm (secret identity)", m, podRoot, true);
        assertThat(pod.config().routes()).extracting(r -> r.name()).containsExactly("crm", "weather");
        assertThat(pod.config().limits().maxBodyBytes()).isEqualTo(1_048_576L);
        assertThat(pod.config().timeouts().response()).hasSeconds(20);
        assertThat(pod.config().access().agents()).containsExactly("spiffe://example.org/ns/agents/sa/planner");
        assertThat(pod.config().access().admins()).containsExactly("spiffe://example.org/ns/ops/sa/admin");
        assertThat(pod.config().access().approvers()).isEmpty();
        assertThat(pod.config().identity().certificate()).hasToString("/var/run/toolgate/svid/tls.crt");
        assertThat(m.custom("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID")).as("no SPIRE with a Secret").isEmpty();
        PodChecks.checkNetworkPolicy("helm (secret identity)", m.only(NetworkPolicy.class), pod);

        Container lock = pod.spec().getInitContainers().get(0);
        assertThat(lock.getArgs()).containsExactly("--uid", "15000", "--allow-uid", "4000", "--allow-dns",
                "--dns-server", "10.96.0.10");
        ConfigMap policies = m.named(ConfigMap.class, "travel-toolgate-policies");
        assertThat(policies.getData()).containsKey("base.yaml");
        Container sidecar = pod.spec().getInitContainers().stream().filter(c -> c.getName().equals("toolgate"))
                .findFirst().orElseThrow();
        assertThat(sidecar.getVolumeMounts()).anyMatch(v -> v.getMountPath().equals("/etc/toolgate/policies"));
        // The sidecar's config names the mounted policies, and they load against its routes (PodChecks loads them).
        assertThat(pod.config().policies()).singleElement()
                .satisfies(p -> assertThat(p.normalize().toString()).endsWith("/etc/toolgate/policies"));
        assertThat(pod.policy().documents()).isNotEmpty();
    }

    @Test
    void egressLockCanBeTurnedOff(@TempDir Path scratch) {
        Manifests m = render(Map.of("egressLock.enabled", "false"), null);
        PodChecks.check("helm (no egress lock)", m, scratch, false);
    }

    @Test
    void anotherUidIsUsedConsistently() {
        Deployment d = render(Map.of("uid", "20000"), null).only(Deployment.class);
        List<Container> inits = d.getSpec().getTemplate().getSpec().getInitContainers();
        assertThat(inits.get(0).getArgs()).containsExactly("--uid", "20000");
        assertThat(inits.subList(1, inits.size())).allSatisfy(c ->
                assertThat(c.getSecurityContext().getRunAsUser()).as(c.getName()).isEqualTo(20000L));
    }

    @Test
    void refusesValuesThatWouldOpenTheLockOrCannotWork() {
        assertThatThrownBy(() -> render(Map.of("uid", "0"), null)).hasMessageContaining("uid: 0 (expected:");
        assertThatThrownBy(() -> render(Map.of("agent.securityContext.runAsUser", "15000"), null))
                .hasMessageContaining("is toolgate's UID");
        assertThatThrownBy(() -> render(Map.of("identity.source", "dev"), null))
                .hasMessageContaining("identity.source: \"dev\" (expected: spiffe-helper or secret)");
        assertThatThrownBy(() -> render(Map.of("identity.source", "secret"), null))
                .hasMessageContaining("identity.secret.name is required");
    }

    private static Manifests render(Map<String, String> set, Path valuesFile) {
        TemplateCommand t = new Helm(chart).template().withName("travel").withNamespace(NAMESPACE);
        if (valuesFile != null) {
            t = t.withValuesFile(valuesFile);
        }
        for (var e : set.entrySet()) {
            t = t.set(e.getKey(), e.getValue());
        }
        return Manifests.parse("helm template " + CHART + " " + set, t.call());
    }
}
