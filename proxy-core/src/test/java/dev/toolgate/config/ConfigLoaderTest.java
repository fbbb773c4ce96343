package dev.toolgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
        assertThat(cfg.routes()).extracting(RouteConfig::name)
                .containsExactly("github-mcp", "weather", "crm", "inventory-grpc");
        RouteConfig grpc = cfg.routes().get(3);
        assertThat(grpc.protocol()).isEqualTo("grpc");
        assertThat(grpc.upstream().http2()).isTrue();
        assertThat(cfg.routes().get(1).timeouts().response()).isEqualTo(Duration.ofSeconds(10));
        assertThat(cfg.timeouts().connect()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void defaultsApplyWhenSectionsAreMissing() throws Exception {
        SidecarConfig cfg = ConfigLoader.load(write("s.yaml", "listener: {port: 0}\n"));
        assertThat(cfg.limits().maxHeaderBytes()).isEqualTo(8192);
        assertThat(cfg.identity().source()).isEqualTo("dev");
        assertThat(cfg.routes()).isEmpty();
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
                .hasMessageContaining("/x is matched by another route");
        write("r2.yaml", "routes:\n  - {name: a, prefix: /x/../y, upstream: {url: http://h}}\n");
        assertThatThrownBy(() -> ConfigLoader.load(write("s2.yaml", "routes: [r2.yaml]\n")))
                .hasMessageContaining("prefix");
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
}
