package dev.toolgate.deploy;

import java.util.List;

/**
 * What the manifests rely on in the image, read from deploy/docker/Dockerfile (never restated in a test): the UID
 * the sidecar runs as, the entry point, the probe, the egress lock's entry point, the JVM flags.
 */
record Image(int uid, int gid, String entrypoint, List<String> defaultArgs, String probe, String egressLock,
             String jar, String javaOpts, Dockerfile dockerfile) {

    static final String DOCKERFILE = "deploy/docker/Dockerfile";

    private static final Image FACTS = read();

    static Image facts() {
        return FACTS;
    }

    private static Image read() {
        Dockerfile df = Dockerfile.parse(Repo.read(DOCKERFILE));
        Dockerfile.Stage runtime = df.defaultTarget();
        String user = runtime.last("USER").orElseThrow(() -> new AssertionError("runtime stage has no USER")).args();
        if (!user.matches("\\d+:\\d+")) {
            throw new AssertionError("USER " + user + " (expected: numeric uid:gid, so Kubernetes can check runAsNonRoot)");
        }
        String[] ug = user.split(":");
        List<String> entrypoint = runtime.last("ENTRYPOINT").orElseThrow(() -> new AssertionError("no ENTRYPOINT"))
                .execForm();
        List<String> cmd = runtime.last("CMD").orElseThrow(() -> new AssertionError("no CMD")).execForm();
        String probe = runtime.copyDestination("deploy/docker/probe.sh")
                .orElseThrow(() -> new AssertionError("runtime stage does not COPY deploy/docker/probe.sh"));
        String jar = runtime.instructions().stream()
                .filter(i -> i.keyword().equals("COPY") && "build".equals(i.flags().get("from")))
                .map(i -> i.words().get(1)).findFirst()
                .orElseThrow(() -> new AssertionError("runtime stage does not COPY --from=build the jar"));
        Dockerfile.Stage lock = df.stage("egress-lock");
        List<String> lockEntrypoint = lock.last("ENTRYPOINT").orElseThrow(() -> new AssertionError(
                "egress-lock stage has no ENTRYPOINT")).execForm();
        return new Image(Integer.parseInt(ug[0]), Integer.parseInt(ug[1]), entrypoint.get(0), cmd, probe,
                lockEntrypoint.get(0), jar, runtime.env().getOrDefault("TOOLGATE_JAVA_OPTS", ""), df);
    }
}
