package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.config.AuditConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.testing.Await;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code audit.maxTotalBytes} in a running sidecar: the trail it opens from its configuration rotates, and its
 * rotated files are deleted, oldest first, until the directory holds no more than the limit.
 */
class AuditRetentionSidecarTest {
    @TempDir
    Path dir;

    @Test
    void theConfiguredLimitHoldsForTheTrailTheSidecarWrites() throws Exception {
        TestPki pki = TestPki.create(dir.resolve("pki"));
        Path file = dir.resolve("audit").resolve("audit.jsonl");
        long limit = 4096;
        var config = Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", "http://127.0.0.1:9")))
                .withAudit(new AuditConfig(file, null, null, 1024L, null, null, null, null, limit));
        try (ProxyServer server = Sidecar.builder(pki, config).reloadInterval(Duration.ofMillis(50)).build()) {
            for (int i = 0; i < 40; i++) {
                server.tasks().start(TestPki.AGENT, new StartRequest(null, "retention " + i, null,
                        List.of(new GrantRequest("weather", List.of("GET /**"), null, null, null)))).token();
            }
            Await.until("the trail rotated more than the limit holds", () -> rotations(file) > 0);
            Await.until("the oldest rotated files deleted down to the limit", () -> total(file) <= limit);
            assertThat(file).exists();
        }
    }

    private static long rotations(Path file) throws Exception {
        try (Stream<Path> files = Files.list(file.getParent())) {
            return files.filter(p -> p.getFileName().toString().matches("audit-.*Z\\.jsonl")).count();
        }
    }

    private static long total(Path file) throws Exception {
        try (Stream<Path> files = Files.list(file.getParent())) {
            return files.mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
