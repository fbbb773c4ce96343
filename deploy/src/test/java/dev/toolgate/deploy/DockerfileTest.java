package dev.toolgate.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.deploy.Dockerfile.Instruction;
import dev.toolgate.deploy.Dockerfile.Stage;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * deploy/docker/Dockerfile and .dockerignore, read without a Docker engine: the stages, the non-root UID, the ports
 * and the entry point agree with the sidecar's build and defaults, and the build context holds what the build
 * copies.
 */
class DockerfileTest {
    private final Image image = Image.facts();
    private final Dockerfile df = image.dockerfile();

    @Test
    void threeStagesWithTheSidecarAsTheDefaultTarget() {
        assertThat(df.stages()).extracting(Stage::name).containsExactly("build", "egress-lock", "runtime");
        assertThat(df.defaultTarget().name()).isEqualTo("runtime");
    }

    @Test
    void buildStageMakesTheShadedJarWithTheProjectsJavaRelease() {
        Stage build = df.stage("build");
        String release = property(Repo.read("pom.xml"), "maven.compiler.release");
        assertThat(build.from()).as("the build JDK is the project's release").startsWith("maven:")
                .contains("temurin-" + release);
        List<String> mvn = build.all("RUN").stream().map(Instruction::args).filter(a -> a.contains("mvn ")).toList();
        assertThat(mvn).hasSize(1);
        assertThat(mvn.get(0)).contains("-DskipTests", "-pl proxy-grpc", "-am", "package");
        assertThat(build.all("RUN").get(0).flags().get("mount")).as("Maven's repository is a build cache")
                .contains("type=cache", "target=/root/.m2");
        // The jar the runtime stage copies is the one proxy-grpc's shade plugin names.
        String finalName = tag(Repo.read("proxy-grpc/pom.xml"), "finalName");
        String workdir = build.last("WORKDIR").orElseThrow().args();
        Instruction copy = df.defaultTarget().all("COPY").stream()
                .filter(i -> "build".equals(i.flags().get("from"))).findFirst().orElseThrow();
        assertThat(copy.words().get(0)).isEqualTo(workdir + "/proxy-grpc/target/" + finalName + ".jar");
    }

    @Test
    void everyModulePomIsInTheBuildContextBecauseTheReactorReadsThem() {
        List<String> copied = df.stage("build").all("COPY").stream().map(i -> i.words().get(0)).toList();
        for (String module : modules(Repo.read("pom.xml"))) {
            assertThat(copied).as("the build stage copies %s/pom.xml", module).contains(module + "/pom.xml");
        }
        // proxy-grpc packages ../config/demo as the demo's default
        assertThat(Repo.read("proxy-grpc/pom.xml")).contains("../config/demo");
        assertThat(copied).contains("config/demo");
    }

    @Test
    void runtimeRunsAsAFixedNonRootUidThatMatchesTheEgressLock() throws Exception {
        Stage runtime = df.defaultTarget();
        assertThat(image.uid()).as("USER is not root").isPositive();
        assertThat(runtime.from()).as("a JRE, the project's release").contains(
                property(Repo.read("pom.xml"), "maven.compiler.release") + "-jre");
        String useradd = runtime.all("RUN").get(0).args();
        assertThat(useradd).contains("--uid " + image.uid(), "--gid " + image.gid());
        // The egress lock's default UID, in its image and in the script, is the sidecar's.
        assertThat(df.stage("egress-lock").env()).containsEntry("TOOLGATE_UID", String.valueOf(image.uid()));
        String script = Repo.read("deploy/egress-lock/toolgate-egress-lock");
        assertThat(script).contains("uid=\"${TOOLGATE_UID:-" + image.uid() + "}\"");
        assertThat(df.stage("egress-lock").last("USER").orElseThrow().args()).isEqualTo("0");
    }

    @Test
    void exposesTheDataPlaneControlAndAdminPorts() {
        List<String> exposed = new ArrayList<>();
        df.defaultTarget().all("EXPOSE").forEach(i -> exposed.addAll(i.words()));
        assertThat(exposed).contains(String.valueOf(ProductDefaults.agentPort()),
                String.valueOf(ProductDefaults.controlPort()), String.valueOf(ProductDefaults.adminPort()));
    }

    @Test
    void entrypointIsTheLauncherScriptRunningTheCopiedJar() {
        Stage runtime = df.defaultTarget();
        assertThat(runtime.copyDestination("deploy/docker/entrypoint.sh")).contains(image.entrypoint());
        String entrypoint = Repo.read("deploy/docker/entrypoint.sh");
        assertThat(entrypoint).contains("-jar \"${TOOLGATE_JAR:-" + image.jar() + "}\"", "exec java");
        // The default command is the sidecar, with the config where the manifests mount it.
        assertThat(image.defaultArgs()).hasSize(3).startsWith("run", "--config");
        String configDir = Path.of(image.defaultArgs().get(2)).getParent().toString();
        assertThat(runtime.all("RUN").get(0).args()).as("the mount points exist in the image").contains(configDir);
        assertThat(image.probe()).isEqualTo("/opt/toolgate/bin/probe");
        for (Instruction copy : runtime.all("COPY")) {
            if (copy.flags().get("from") == null) {
                assertThat(copy.flags().get("chmod")).as("%s is executable", copy.words().get(0)).isEqualTo("0755");
            }
        }
    }

    @Test
    void egressLockStageRunsTheScriptWithIptables() {
        Stage lock = df.stage("egress-lock");
        assertThat(lock.all("RUN").get(0).args()).contains("apt-get install", "iptables");
        assertThat(lock.copyDestination("deploy/egress-lock/toolgate-egress-lock")).contains(image.egressLock());
        assertThat(lock.copyDestination("deploy/egress-lock/toolgate-egress-lock").orElseThrow())
                .isEqualTo(image.egressLock());
    }

    @Test
    void jvmFlagsAreContainerAwareAndAcceptedByTheJvm() {
        String opts = image.javaOpts();
        assertThat(opts).contains("-XX:MaxRAMPercentage=", "-XX:+ExitOnOutOfMemoryError", "-XX:-UsePerfData",
                "-Djava.io.tmpdir=/tmp", "-XX:MaxDirectMemorySize=");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(opts.split("\\s+")));
        cmd.add("-version");
        Commands.run(cmd).requireSuccess();
    }

    @Test
    void buildContextHoldsEverythingTheBuildCopiesAndNoBuildOutput() throws Exception {
        List<PathMatcher> ignored = new ArrayList<>();
        for (String line : Repo.read(".dockerignore").split("\n")) {
            String p = line.strip();
            if (p.isEmpty() || p.startsWith("#")) {
                continue;
            }
            assertThat(p).as(".dockerignore: no exceptions (!) to keep this check simple").doesNotStartWith("!");
            String glob = p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
            ignored.add(FileSystems.getDefault().getPathMatcher("glob:" + glob));
            ignored.add(FileSystems.getDefault().getPathMatcher("glob:" + glob + "/**"));
        }
        for (Stage stage : df.stages()) {
            for (Instruction copy : stage.all("COPY")) {
                if (copy.flags().containsKey("from")) {
                    continue;
                }
                List<String> w = copy.words();
                for (String src : w.subList(0, w.size() - 1)) {
                    Path p = Repo.path(src);
                    assertThat(p).as("COPY %s (line %d) exists", src, copy.line()).exists();
                    assertThat(ignored).as("COPY %s is not excluded by .dockerignore", src)
                            .noneMatch(m -> m.matches(Path.of(src)));
                    if (Files.isDirectory(p)) {
                        try (var files = Files.walk(p)) {
                            long kept = files.filter(Files::isRegularFile)
                                    .map(f -> Repo.root().relativize(f))
                                    .filter(f -> ignored.stream().noneMatch(m -> m.matches(f))).count();
                            assertThat(kept).as("COPY %s keeps files", src).isPositive();
                        }
                    }
                }
            }
        }
        for (String output : List.of("proxy-core/target/x.jar", "proxy-grpc/target/toolgate.jar", ".git",
                "deploy/target/y", ".toolgate/dev-ca/ca.key")) {
            assertThat(ignored).as(".dockerignore excludes %s", output).anyMatch(m -> m.matches(Path.of(output)));
        }
    }

    private static String property(String pom, String name) {
        return tag(pom, name);
    }

    private static String tag(String xml, String name) {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</" + Pattern.quote(name) + ">").matcher(xml);
        assertThat(m.find()).as("<%s> in the POM", name).isTrue();
        return m.group(1).trim();
    }

    private static List<String> modules(String pom) {
        Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(pom);
        List<String> out = new ArrayList<>();
        while (m.find()) {
            out.add(m.group(1).trim());
        }
        return out;
    }
}
