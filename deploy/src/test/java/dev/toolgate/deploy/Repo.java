package dev.toolgate.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The repository the tests run in: deploy/ and the product files its checks compare against. */
final class Repo {
    private static final Path ROOT = findRoot();

    private Repo() {}

    static Path root() {
        return ROOT;
    }

    static Path path(String relative) {
        return ROOT.resolve(relative);
    }

    static String read(String relative) {
        try {
            return Files.readString(path(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The shaded jar built by proxy-grpc earlier in the same reactor (`mvn verify` from the root). */
    static Path toolgateJar() {
        Path jar = path("proxy-grpc/target/toolgate.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing (expected: built by proxy-grpc before these tests;"
                    + " run `mvn -B verify` from the repository root)");
        }
        return jar;
    }

    private static Path findRoot() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("proxy-core"))
                    && Files.isDirectory(p.resolve("deploy"))) {
                return p;
            }
        }
        throw new IllegalStateException("no toolgate repository above " + dir);
    }
}
