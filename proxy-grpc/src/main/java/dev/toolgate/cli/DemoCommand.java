package dev.toolgate.cli;

import dev.toolgate.demo.Demo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code toolgate demo}: the product end to end on dev identities. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run a sidecar, a demo tool and a scripted agent; print what happened to each call.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--state-dir", description = "Where the demo keeps its dev CA (default: a new temp directory).")
    Path stateDir;

    @Option(names = "--hold", description = "Keep the sidecar running after the script, for trying it with curl.")
    boolean hold;

    @Override
    public Integer call() throws Exception {
        Path dir = stateDir != null ? stateDir : Files.createTempDirectory("toolgate-demo");
        new Demo(System.out).run(dir, hold);
        return 0;
    }
}
