package dev.toolgate.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.toolgate.config.ConfigException;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.policy.PolicyException;
import dev.toolgate.policy.PolicyLoader;
import dev.toolgate.policy.PolicySet;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What every rendering of the agent pod (kustomize base, example overlay, Helm chart with any values) must get
 * right, checked against the image (deploy/docker/Dockerfile) and the sidecar's own defaults and config loader.
 * The sidecar's config is not just parsed: the ConfigMaps are laid out in a scratch directory the way the pod
 * mounts them and loaded with {@link ConfigLoader}, exactly as {@code toolgate run --config} would.
 */
final class PodChecks {
    static final String SIDECAR = "toolgate";
    static final String EGRESS_LOCK = "toolgate-egress-lock";
    static final String HELPER = "spiffe-helper";
    static final String CSI_DRIVER = "csi.spiffe.io";
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Pattern HCL = Pattern.compile("^\\s*([a-z_]+)\\s*=\\s*\"?([^\"]*?)\"?\\s*$");

    /** A checked pod: what later checks (ClusterSPIFFEID, NetworkPolicy) need. */
    record Pod(Deployment deployment, PodSpec spec, Map<String, String> labels, SidecarConfig config,
               Map<String, String> helperConfig, PolicySet policy) {
        List<String> containerNames() {
            List<String> names = new ArrayList<>();
            spec.getInitContainers().forEach(c -> names.add(c.getName()));
            spec.getContainers().forEach(c -> names.add(c.getName()));
            return names;
        }
    }

    private final String source;
    private final Manifests objects;
    private final Path root;
    private final Image image = Image.facts();

    private PodChecks(String source, Manifests objects, Path scratch) {
        this.source = source;
        this.objects = objects;
        this.root = scratch;
    }

    /** Runs every pod check on the one Deployment of {@code objects}; {@code scratch} is an empty directory. */
    static Pod check(String source, Manifests objects, Path scratch, boolean expectEgressLock) {
        return new PodChecks(source, objects, scratch).run(expectEgressLock);
    }

    private Pod run(boolean expectEgressLock) {
        Deployment deployment = objects.only(Deployment.class);
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        Map<String, String> labels = deployment.getSpec().getTemplate().getMetadata().getLabels();
        assertThat(deployment.getSpec().getSelector().getMatchLabels().entrySet())
                .as("%s: the selector matches the pod's labels", source).isSubsetOf(labels.entrySet());
        assertThat(pod.getHostNetwork()).as("%s: hostNetwork would put the egress lock on the node", source)
                .isNotEqualTo(Boolean.TRUE);
        assertThat(pod.getShareProcessNamespace()).as("%s: the probe reads the sidecar as PID 1", source)
                .isNotEqualTo(Boolean.TRUE);

        Container sidecar = init(pod, SIDECAR).orElseThrow(() -> new AssertionError(
                source + ": no init container " + SIDECAR + " (expected: toolgate as a native sidecar)"));
        assertThat(sidecar.getRestartPolicy()).as("%s: toolgate is a native sidecar", source).isEqualTo("Always");
        assertThat(pod.getContainers()).as("%s: toolgate is not an ordinary container", source)
                .noneMatch(c -> c.getName().equals(SIDECAR));

        SidecarConfig config = checkEntrypointAndConfig(pod, sidecar);
        checkSecurity(pod, sidecar);
        checkProbes(sidecar, config);
        Map<String, String> helper = checkIdentity(pod, sidecar, config);
        checkEgressLock(pod, sidecar, expectEgressLock);
        checkAgents(pod);
        return new Pod(deployment, pod, labels, config, helper, policy(config));
    }

    /** Entry point, arguments, the config file mounted where --config points, loaded by the real loader. */
    private SidecarConfig checkEntrypointAndConfig(PodSpec pod, Container sidecar) {
        assertThat(sidecar.getCommand()).as("%s: toolgate keeps the image's ENTRYPOINT (%s)", source,
                image.entrypoint()).isEmpty();
        List<String> args = sidecar.getArgs();
        assertThat(args).as("%s: toolgate's arguments", source).hasSize(3);
        assertThat(args.subList(0, 2)).as("%s: toolgate's arguments", source).containsExactly("run", "--config");
        assertThat(args).as("%s: the same command as the image's CMD", source).isEqualTo(image.defaultArgs());
        Path configFile = Path.of(args.get(2));
        VolumeMount configMount = mountAt(sidecar, configFile.getParent().toString())
                .orElseThrow(() -> new AssertionError(source + ": --config " + configFile
                        + " is not in a directory mounted into toolgate"));
        Volume configVolume = volume(pod, configMount.getName());
        assertThat(configVolume.getConfigMap()).as("%s: %s comes from a ConfigMap", source, configFile).isNotNull();
        assertThat(configMount.getSubPath()).as("%s: a directory mount (subPath mounts never see updates)", source)
                .isNullOrEmpty();

        layOut(pod, sidecar);
        SidecarConfig cfg;
        try {
            cfg = ConfigLoader.load(inRoot(configFile.toString()));
        } catch (ConfigException e) {
            throw new AssertionError(source + ": the sidecar would refuse its config: " + e.getMessage(), e);
        }
        int port = ProductDefaults.agentPort();
        assertThat(cfg.listener().port()).as("%s: listener port vs ListenerConfig.DEFAULT_PORT", source).isEqualTo(port);
        assertThat(cfg.listener().address()).as("%s: only the pod's own agent reaches the sidecar", source)
                .isEqualTo("127.0.0.1");
        assertThat(sidecar.getPorts()).as("%s: containerPort of the data plane", source)
                .extracting(ContainerPort::getContainerPort).containsExactly(port);

        Path audit = cfg.audit().file();
        VolumeMount auditMount = mountAt(sidecar, podPath(audit.getParent())).orElseThrow(() -> new AssertionError(
                source + ": audit file " + podPath(audit) + " is not on a volume (the root filesystem is read-only)"));
        assertThat(auditMount.getReadOnly()).as("%s: the audit volume is writable", source).isNotEqualTo(Boolean.TRUE);
        StateChecks.check(source, pod, sidecar, cfg, this::podPath);

        // Routes: every route of the mounted route ConfigMaps reached the sidecar.
        List<String> declared = new ArrayList<>();
        for (VolumeMount m : sidecar.getVolumeMounts()) {
            Volume v = volume(pod, m.getName());
            if (v.getConfigMap() != null && m.getMountPath().endsWith("/routes")) {
                for (String text : configMap(v.getConfigMap().getName()).getData().values()) {
                    try {
                        YAML.readTree(text).path("routes").forEach(r -> declared.add(r.path("name").asText()));
                    } catch (IOException e) {
                        throw new AssertionError(source + ": route ConfigMap is not YAML", e);
                    }
                }
            }
        }
        assertThat(cfg.routes()).as("%s: routes loaded from the mounted ConfigMaps", source)
                .extracting(r -> r.name()).containsExactlyInAnyOrderElementsOf(declared);
        return cfg;
    }

    private void checkSecurity(PodSpec pod, Container sidecar) {
        SecurityContext sc = sidecar.getSecurityContext();
        assertThat(sc).as("%s: toolgate's securityContext", source).isNotNull();
        assertThat(sc.getRunAsUser()).as("%s: toolgate runs as the image's USER", source).isEqualTo((long) image.uid());
        assertThat(sc.getRunAsGroup()).as("%s: toolgate's group is the image's", source).isEqualTo((long) image.gid());
        assertThat(sc.getRunAsNonRoot()).as("%s: runAsNonRoot", source).isTrue();
        assertThat(sc.getReadOnlyRootFilesystem()).as("%s: readOnlyRootFilesystem", source).isTrue();
        assertThat(sc.getAllowPrivilegeEscalation()).as("%s: allowPrivilegeEscalation", source).isFalse();
        assertThat(sc.getCapabilities().getDrop()).as("%s: capabilities dropped", source).contains("ALL");
        assertThat(sc.getCapabilities().getAdd()).as("%s: no capability added", source).isEmpty();
        VolumeMount tmp = mountAt(sidecar, "/tmp").filter(m -> m.getMountPath().equals("/tmp"))
                .orElseThrow(() -> new AssertionError(source + ": no /tmp volume (java.io.tmpdir under a read-only root)"));
        assertThat(tmp.getReadOnly()).as("%s: /tmp is writable", source).isNotEqualTo(Boolean.TRUE);
        assertThat(image.javaOpts()).as("the image's JVM flags put temporary files in /tmp").contains("-Djava.io.tmpdir=/tmp");
        assertThat(sidecar.getResources().getRequests()).as("%s: toolgate's resource requests", source)
                .containsKeys("cpu", "memory");
        assertThat(sidecar.getResources().getLimits()).as("%s: toolgate's memory limit", source).containsKey("memory");
    }

    private void checkProbes(Container sidecar, SidecarConfig cfg) {
        String admin = String.valueOf(ProductDefaults.adminPort());
        Map<String, Probe> probes = new LinkedHashMap<>();
        probes.put("startupProbe", sidecar.getStartupProbe());
        probes.put("readinessProbe", sidecar.getReadinessProbe());
        probes.put("livenessProbe", sidecar.getLivenessProbe());
        probes.forEach((kind, probe) -> {
            assertThat(probe).as("%s: toolgate has a %s", source, kind).isNotNull();
            assertThat(probe.getHttpGet()).as("%s: %s is not httpGet: the admin port is on 127.0.0.1, "
                    + "kubelet dials the pod IP", source, kind).isNull();
            assertThat(probe.getExec()).as("%s: %s is an exec probe", source, kind).isNotNull();
            List<String> cmd = probe.getExec().getCommand();
            assertThat(cmd.get(0)).as("%s: %s runs the image's probe", source, kind).isEqualTo(image.probe());
            assertThat(cmd.get(2)).as("%s: %s targets the admin port", source, kind).isEqualTo(admin);
            assertThat(probe.getTimeoutSeconds()).as("%s: %s timeout", source, kind).isNotNull();
        });
        assertThat(probes.get("startupProbe").getExec().getCommand().get(1)).isEqualTo("/readyz");
        assertThat(probes.get("readinessProbe").getExec().getCommand().get(1)).isEqualTo("/readyz");
        List<String> liveness = probes.get("livenessProbe").getExec().getCommand();
        assertThat(liveness.get(1)).isEqualTo("/healthz");
        // The sidecar follows its SVID files (FileTlsMaterial): liveness must not restart it when they rotate.
        assertThat(liveness.subList(3, liveness.size()))
                .as("%s: liveness does not watch the SVID files (rotation is handled in process)", source)
                .isEmpty();
    }

    /** The SVID files: where the config reads them, who writes them, and the Workload API socket behind them. */
    private Map<String, String> checkIdentity(PodSpec pod, Container sidecar, SidecarConfig cfg) {
        assertThat(cfg.identity().source()).as("%s: identity source", source).isEqualTo("files");
        List<String> files = List.of(podPath(cfg.identity().certificate()), podPath(cfg.identity().key()),
                podPath(cfg.identity().bundle()));
        String dir = Path.of(files.get(0)).getParent().toString();
        assertThat(files).as("%s: the SVID files share one directory", source)
                .allMatch(f -> Path.of(f).getParent().toString().equals(dir));
        VolumeMount svidMount = mountAt(sidecar, dir).filter(m -> m.getMountPath().equals(dir))
                .orElseThrow(() -> new AssertionError(source + ": " + dir + " is not a volume mounted into toolgate"));
        assertThat(svidMount.getReadOnly()).as("%s: toolgate only reads its SVID", source).isTrue();
        assertThat(env(sidecar, "TOOLGATE_WAIT_FOR")).as("%s: the entry point waits for the SVID files", source)
                .hasValueSatisfying(v -> assertThat(List.of(v.trim().split("\\s+"))).containsExactlyElementsOf(files));
        Volume svid = volume(pod, svidMount.getName());
        List<String> names = files.stream().map(f -> Path.of(f).getFileName().toString()).toList();

        if (svid.getSecret() != null) {
            List<KeyToPath> items = svid.getSecret().getItems();
            assertThat(items).as("%s: the Secret's keys are the file names", source).isEmpty();
            assertThat(init(pod, HELPER)).as("%s: no spiffe-helper with a Secret identity", source).isEmpty();
            return Map.of();
        }
        assertThat(svid.getEmptyDir()).as("%s: SVID volume is an emptyDir (spiffe-helper) or a Secret", source)
                .isNotNull();
        assertThat(svid.getEmptyDir().getMedium()).as("%s: key material stays in memory", source).isEqualTo("Memory");
        Container helper = init(pod, HELPER).orElseThrow(() -> new AssertionError(source + ": nobody writes " + dir));
        assertThat(helper.getRestartPolicy()).as("%s: spiffe-helper is a native sidecar (it renews)", source)
                .isEqualTo("Always");
        assertThat(indexOf(pod, HELPER)).as("%s: spiffe-helper starts before toolgate", source)
                .isLessThan(indexOf(pod, SIDECAR));
        assertThat(helper.getSecurityContext().getRunAsUser())
                .as("%s: spiffe-helper writes the key (0600) as toolgate's UID", source).isEqualTo((long) image.uid());
        VolumeMount helperSvid = mountOfVolume(helper, svidMount.getName());
        assertThat(helperSvid.getMountPath()).as("%s: spiffe-helper writes where toolgate reads", source).isEqualTo(dir);
        assertThat(helperSvid.getReadOnly()).isNotEqualTo(Boolean.TRUE);

        Map<String, String> conf = helperConfig(pod, helper);
        assertThat(conf.get("cert_dir")).as("%s: helper.conf cert_dir", source).isEqualTo(dir);
        assertThat(List.of(conf.get("svid_file_name"), conf.get("svid_key_file_name"), conf.get("svid_bundle_file_name")))
                .as("%s: helper.conf file names vs toolgate.yaml identity", source).isEqualTo(names);
        assertThat(conf.get("daemon_mode")).as("%s: spiffe-helper keeps renewing", source).isEqualTo("true");
        String socket = conf.get("agent_address");
        Volume csi = csiVolume(pod);
        assertThat(mountOfVolume(helper, csi.getName()).getMountPath())
                .as("%s: helper.conf agent_address is on the CSI volume", source)
                .isEqualTo(Path.of(socket).getParent().toString());
        // The agent finds its own SVID on the same socket.
        for (Container agent : pod.getContainers()) {
            Optional<String> endpoint = env(agent, "SPIFFE_ENDPOINT_SOCKET");
            assertThat(endpoint).as("%s: %s's SPIFFE_ENDPOINT_SOCKET", source, agent.getName())
                    .contains("unix://" + socket);
            assertThat(mountOfVolume(agent, csi.getName()).getMountPath()).isEqualTo(Path.of(socket).getParent().toString());
        }
        return conf;
    }

    private void checkEgressLock(PodSpec pod, Container sidecar, boolean expected) {
        Optional<Container> found = init(pod, EGRESS_LOCK);
        if (!expected) {
            assertThat(found).as("%s: egress lock disabled", source).isEmpty();
            return;
        }
        Container lock = found.orElseThrow(() -> new AssertionError(source + ": no init container " + EGRESS_LOCK));
        assertThat(indexOf(pod, EGRESS_LOCK)).as("%s: the lock is the first init container", source).isZero();
        assertThat(lock.getRestartPolicy()).as("%s: the lock runs once", source).isNull();
        assertThat(lock.getCommand()).as("%s: the lock keeps the image's ENTRYPOINT (%s)", source, image.egressLock())
                .isEmpty();
        SecurityContext sc = lock.getSecurityContext();
        assertThat(sc.getRunAsUser()).as("%s: iptables needs root in the pod's namespace", source).isZero();
        assertThat(sc.getCapabilities().getAdd()).as("%s: the lock's capabilities", source)
                .containsExactlyInAnyOrder("NET_ADMIN", "NET_RAW");
        assertThat(sc.getCapabilities().getDrop()).contains("ALL");
        assertThat(sc.getAllowPrivilegeEscalation()).isFalse();
        List<String> args = lock.getArgs();
        int uid = args.indexOf("--uid");
        assertThat(uid).as("%s: the lock is told the sidecar's UID", source).isNotNegative();
        assertThat(args.get(uid + 1)).as("%s: the UID allowed out is toolgate's", source)
                .isEqualTo(String.valueOf(sidecar.getSecurityContext().getRunAsUser()));
        if (Boolean.TRUE.equals(sc.getReadOnlyRootFilesystem())) {
            assertThat(mountAt(lock, "/run/xtables.lock")).as("%s: /run is writable for iptables' lock", source)
                    .hasValueSatisfying(m -> assertThat(m.getMountPath()).isEqualTo("/run"));
        }
        // The script accepts exactly these arguments (a typo would fail the init container, and the pod).
        List<String> cmd = new ArrayList<>(List.of(Repo.path("deploy/egress-lock/toolgate-egress-lock").toString()));
        cmd.addAll(args);
        cmd.add("--dry-run");
        Commands.Result r = Commands.run(cmd);
        assertThat(r.exit()).as("%s: egress lock arguments %s: %s", source, args, r.err()).isZero();
        assertThat(r.out()).contains("--uid-owner " + sidecar.getSecurityContext().getRunAsUser() + " -j RETURN");
    }

    /** The agent's containers: never the sidecar's UID, never root, no network capabilities. */
    private void checkAgents(PodSpec pod) {
        PodSecurityContext podSc = pod.getSecurityContext();
        Long podUser = podSc == null ? null : podSc.getRunAsUser();
        assertThat(pod.getContainers()).as("%s: the agent container", source).isNotEmpty();
        for (Container c : pod.getContainers()) {
            SecurityContext sc = c.getSecurityContext();
            Long user = sc != null && sc.getRunAsUser() != null ? sc.getRunAsUser() : podUser;
            assertThat(user).as("%s: %s needs an explicit runAsUser (the lock tells UIDs apart)", source, c.getName())
                    .isNotNull();
            assertThat(user).as("%s: %s must not run as toolgate's UID", source, c.getName())
                    .isNotEqualTo((long) image.uid()).isNotZero();
            assertThat(sc.getRunAsNonRoot()).as("%s: %s runAsNonRoot", source, c.getName()).isTrue();
            assertThat(sc.getAllowPrivilegeEscalation()).as("%s: %s allowPrivilegeEscalation", source, c.getName())
                    .isFalse();
            List<String> added = sc.getCapabilities() == null ? List.of() : sc.getCapabilities().getAdd();
            assertThat(added).as("%s: %s must not be able to change the lock", source, c.getName())
                    .doesNotContain("NET_ADMIN", "NET_RAW", "SYS_ADMIN", "SETUID");
            assertThat(env(c, "TOOLGATE_URL")).as("%s: %s finds the sidecar", source, c.getName())
                    .contains("https://localhost:" + ProductDefaults.agentPort());
        }
    }

    // ---- ClusterSPIFFEID and NetworkPolicy, given the checked pod

    /** The agent's and the sidecar's ClusterSPIFFEIDs select this pod's containers in {@code namespace}. */
    static void checkClusterSpiffeIds(String source, List<GenericKubernetesResource> ids, Pod pod, String namespace) {
        assertThat(ids).as("%s: ClusterSPIFFEIDs for the agent and the sidecar", source).hasSize(2);
        Set<String> containers = Set.copyOf(pod.containerNames());
        List<String> selected = new ArrayList<>();
        for (GenericKubernetesResource id : ids) {
            Map<String, Object> spec = id.get("spec");
            assertThat((String) spec.get("spiffeIDTemplate")).startsWith("spiffe://{{ .TrustDomain }}/");
            Map<String, String> podLabels = id.get("spec", "podSelector", "matchLabels");
            assertThat(pod.labels().entrySet()).as("%s: %s selects the pod", source, id.getMetadata().getName())
                    .containsAll(podLabels.entrySet());
            Map<String, String> ns = id.get("spec", "namespaceSelector", "matchLabels");
            assertThat(ns).as("%s: %s is limited to the namespace", source, id.getMetadata().getName())
                    .containsEntry("kubernetes.io/metadata.name", namespace);
            List<String> selectors = id.get("spec", "workloadSelectorTemplates");
            assertThat(selectors).hasSize(1);
            String container = selectors.get(0).replaceFirst("^k8s:container-name:", "");
            assertThat(containers).as("%s: %s selects an existing container", source, id.getMetadata().getName())
                    .contains(container);
            selected.add(container);
            if (container.equals(HELPER)) {
                assertThat(spec.get("hint")).as("%s: the sidecar's hint is spiffe-helper's", source)
                        .isEqualTo(pod.helperConfig().get("hint"));
                List<String> dns = id.get("spec", "dnsNameTemplates");
                assertThat(dns).as("%s: https://localhost verifies", source).contains("localhost");
            }
        }
        String agent = pod.spec().getContainers().get(0).getName();
        assertThat(selected).containsExactlyInAnyOrder(agent, HELPER);
    }

    /** The NetworkPolicy selects the pod and lets it reach the upstream of every route. */
    static void checkNetworkPolicy(String source, NetworkPolicy policy, Pod pod) {
        assertThat(pod.labels().entrySet()).as("%s: NetworkPolicy selects the pod", source)
                .containsAll(policy.getSpec().getPodSelector().getMatchLabels().entrySet());
        assertThat(policy.getSpec().getPolicyTypes()).contains("Egress");
        List<Integer> ports = new ArrayList<>();
        for (NetworkPolicyEgressRule rule : policy.getSpec().getEgress()) {
            for (NetworkPolicyPort p : rule.getPorts()) {
                if (!"UDP".equals(p.getProtocol())) {
                    ports.add(p.getPort().getIntVal());
                }
            }
        }
        for (var route : pod.config().routes()) {
            assertThat(ports).as("%s: route %s (%s) is allowed out by the NetworkPolicy", source, route.name(),
                    route.upstream().url()).contains(route.upstream().port());
        }
    }

    /** The policy files the config names, loaded by the sidecar's own loader against its routes. */
    private PolicySet policy(SidecarConfig config) {
        if (config.policies().isEmpty()) {
            throw new AssertionError(source + ": no policy is named: the sidecar refuses every task start");
        }
        try {
            return PolicyLoader.load(config.policies(), config.routes());
        } catch (PolicyException e) {
            throw new AssertionError(source + ": the sidecar would refuse its policy: " + e.getMessage(), e);
        }
    }

    // ---- helpers

    private void layOut(PodSpec pod, Container sidecar) {
        for (VolumeMount m : sidecar.getVolumeMounts()) {
            Volume v = volume(pod, m.getName());
            Path dir = inRoot(m.getMountPath());
            try {
                Files.createDirectories(dir);
                if (v.getConfigMap() != null) {
                    Map<String, String> data = configMap(v.getConfigMap().getName()).getData();
                    Map<String, String> paths = new LinkedHashMap<>();
                    List<KeyToPath> items = v.getConfigMap().getItems();
                    if (items == null || items.isEmpty()) {
                        data.keySet().forEach(k -> paths.put(k, k));
                    } else {
                        items.forEach(i -> paths.put(i.getKey(), i.getPath()));
                    }
                    for (var e : paths.entrySet()) {
                        Files.writeString(dir.resolve(e.getValue()), Objects.requireNonNull(data.get(e.getKey()),
                                () -> source + ": ConfigMap " + v.getConfigMap().getName() + " has no key " + e.getKey()));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private Map<String, String> helperConfig(PodSpec pod, Container helper) {
        List<String> args = helper.getArgs();
        int i = args.indexOf("-config");
        assertThat(i).as("%s: spiffe-helper -config", source).isNotNegative();
        Path file = Path.of(args.get(i + 1));
        VolumeMount m = mountAt(helper, file.getParent().toString()).orElseThrow(
                () -> new AssertionError(source + ": spiffe-helper's " + file + " is not mounted"));
        String text = configMap(volume(pod, m.getName()).getConfigMap().getName()).getData()
                .get(file.getFileName().toString());
        assertThat(text).as("%s: spiffe-helper's config %s", source, file).isNotNull();
        Map<String, String> conf = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.strip().startsWith("#")) {
                continue;
            }
            Matcher kv = HCL.matcher(line);
            if (!kv.matches()) {
                fail("%s: spiffe-helper config line not understood: %s", source, line);
            }
            conf.put(kv.group(1), kv.group(2));
        }
        return conf;
    }

    private Volume csiVolume(PodSpec pod) {
        List<Volume> csi = pod.getVolumes().stream().filter(v -> v.getCsi() != null).toList();
        assertThat(csi).as("%s: one SPIFFE CSI driver volume", source).hasSize(1);
        assertThat(csi.get(0).getCsi().getDriver()).isEqualTo(CSI_DRIVER);
        assertThat(csi.get(0).getCsi().getReadOnly()).as("%s: the CSI volume is read-only", source).isTrue();
        return csi.get(0);
    }

    private ConfigMap configMap(String name) {
        return objects.named(ConfigMap.class, name);
    }

    private Volume volume(PodSpec pod, String name) {
        return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(source + ": no volume " + name));
    }

    private VolumeMount mountOfVolume(Container c, String volume) {
        return c.getVolumeMounts().stream().filter(m -> m.getName().equals(volume)).findFirst()
                .orElseThrow(() -> new AssertionError(source + ": " + c.getName() + " does not mount " + volume));
    }

    /** The mount of {@code c} that holds {@code path} (the longest mount path that is a prefix of it). */
    static Optional<VolumeMount> mountAt(Container c, String path) {
        VolumeMount best = null;
        for (VolumeMount m : c.getVolumeMounts()) {
            String mp = m.getMountPath();
            if ((path.equals(mp) || path.startsWith(mp.endsWith("/") ? mp : mp + "/"))
                    && (best == null || mp.length() > best.getMountPath().length())) {
                best = m;
            }
        }
        return Optional.ofNullable(best);
    }

    private static Optional<Container> init(PodSpec pod, String name) {
        return pod.getInitContainers().stream().filter(c -> c.getName().equals(name)).findFirst();
    }

    private static int indexOf(PodSpec pod, String name) {
        List<Container> inits = pod.getInitContainers();
        for (int i = 0; i < inits.size(); i++) {
            if (inits.get(i).getName().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    private static Optional<String> env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst();
    }

    private Path inRoot(String podPath) {
        return root.resolve(podPath.replaceFirst("^/+", ""));
    }

    /** A path the loader resolved inside the scratch root, as the pod sees it. */
    private String podPath(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        return abs.startsWith(root) ? "/" + root.relativize(abs) : abs.toString();
    }
}
