package dev.toolgate.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.toolgate.config.ConfigLoader;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/k8s: the kustomize base (file by file, no tool needed), the example overlay and the SPIRE registrations
 * (rendered by kustomize, as carried by kubectl) parse strictly as Kubernetes objects and agree with the image and
 * the sidecar's defaults (PodChecks).
 */
class KubernetesManifestsTest {
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final String BASE = "deploy/k8s/base";
    private static final String OVERLAY = "deploy/k8s/overlays/example";
    private static final String SPIRE = "deploy/k8s/spire";
    private static final String NAMESPACE = "agents";

    @Test
    void baseAgreesWithTheImageAndTheSidecar(@TempDir Path scratch) throws Exception {
        PodChecks.Pod pod = PodChecks.check(BASE, base(), scratch, true);
        // The base mounts the policies ConfigMap where its config says; it holds no document (overlays bring them).
        assertThat(pod.config().policies()).hasSize(1);
        assertThat(pod.policy().documents()).isEmpty();
    }

    @Test
    void exampleOverlayRendersAndLetsThePodReachExactlyItsRoutes(@TempDir Path scratch) {
        Manifests rendered = kustomize(OVERLAY);
        assertThat(rendered.all()).as("everything of the overlay is in namespace %s", NAMESPACE)
                .allMatch(o -> NAMESPACE.equals(o.getMetadata().getNamespace()));
        PodChecks.Pod pod = PodChecks.check(OVERLAY, rendered, scratch, true);
        assertThat(pod.config().routes()).extracting(r -> r.name()).containsExactly("crm", "weather");
        // The overlay's policy is mounted, named by the config and compiles against the overlay's routes.
        assertThat(pod.policy().documents()).containsExactly("travel-agents");
        assertThat(pod.spec().getContainers().get(0).getImage()).isEqualTo("registry.example.com/agents/travel-planner:2.3.1");
        assertThat(pod.spec().getInitContainers()).extracting(c -> c.getImage()).contains(
                "registry.example.com/platform/toolgate:0.1.0", "registry.example.com/platform/toolgate-egress-lock:0.1.0");
        PodChecks.checkNetworkPolicy(OVERLAY, rendered.only(NetworkPolicy.class), pod);
    }

    @Test
    void spireRegistrationsSelectTheExamplePodsContainers(@TempDir Path scratch) {
        PodChecks.Pod pod = PodChecks.check(OVERLAY, kustomize(OVERLAY), scratch, true);
        List<GenericKubernetesResource> ids = kustomize(SPIRE).custom("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID");
        assertThat(ids).as("cluster-scoped: no namespace").allMatch(r -> r.getMetadata().getNamespace() == null);
        PodChecks.checkClusterSpiffeIds(SPIRE, ids, pod, NAMESPACE);
    }

    @Test
    void everyManifestUnderK8sParsesAndEveryConfigFileLoads() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.walk(Repo.path("deploy/k8s"))) {
            files = s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        assertThat(files).isNotEmpty();
        for (Path f : files) {
            String name = f.getFileName().toString();
            String where = Repo.root().relativize(f).toString();
            switch (name) {
                case "kustomization.yaml" -> assertThat(YAML.readTree(f.toFile()).path("kind").asText())
                        .as(where).isEqualTo("Kustomization");
                case "routes.yaml" -> ConfigLoader.loadRoutes(f); // a route file the sidecar accepts
                case "policies.yaml" -> assertThat(YAML.readTree(f.toFile()).path("kind").asText()).as(where)
                        .isEqualTo("Policy"); // compiled against its routes by the overlay's test
                case "toolgate.yaml" -> assertThat(YAML.readTree(f.toFile()).has("listener")).as(where).isTrue();
                default -> assertThat(Manifests.parse(where, Files.readString(f)).all()).as(where).isNotEmpty();
            }
        }
    }

    /** The base as kustomize would build it, without kustomize: its resources plus its generated ConfigMaps. */
    private static Manifests base() throws Exception {
        Path dir = Repo.path(BASE);
        JsonNode k = YAML.readTree(dir.resolve("kustomization.yaml").toFile());
        StringBuilder all = new StringBuilder();
        for (JsonNode r : k.path("resources")) {
            all.append(Files.readString(dir.resolve(r.asText()))).append("\n---\n");
        }
        for (JsonNode gen : k.path("configMapGenerator")) {
            ConfigMap cm = new ConfigMap();
            cm.setApiVersion("v1");
            cm.setKind("ConfigMap");
            cm.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(gen.path("name").asText()).build());
            for (JsonNode file : gen.path("files")) {
                String[] keyPath = file.asText().split("=", 2);
                String key = keyPath[0];
                String path = keyPath.length == 2 ? keyPath[1] : keyPath[0];
                cm.getData().put(key, Files.readString(dir.resolve(path)));
            }
            all.append(YAML.writeValueAsString(cm)).append("\n---\n");
        }
        return Manifests.parse(BASE, all.toString());
    }

    /** {@code kubectl kustomize DIR} (kustomize built into kubectl); skipped, saying so, where kubectl is absent. */
    private static Manifests kustomize(String dir) {
        assumeTrue(Commands.available("kubectl"),
                "skipped: kubectl (which carries kustomize) is not installed; the base was checked file by file");
        Commands.Result r = Commands.run(List.of("kubectl", "kustomize", Repo.path(dir).toString())).requireSuccess();
        Manifests m = Manifests.parse("kustomize " + dir, r.out());
        assertThat(m.all()).extracting(HasMetadata::getKind).isNotEmpty();
        return m;
    }
}
