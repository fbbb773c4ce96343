package dev.toolgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A route credential is checked when it is built: its type, header, where the secret is, audience and ttl. */
class CredentialConfigTest {

    @Test
    void defaults() {
        CredentialConfig jwt = CredentialConfig.taskJwt(null, "https://crm.example", null);
        assertThat(jwt.header()).isEqualTo("authorization");
        assertThat(jwt.ttl()).isEqualTo(Duration.ofMinutes(5));
        CredentialConfig key = CredentialConfig.staticFromEnv("X-API-Key", null, "K");
        assertThat(key.header()).isEqualTo("x-api-key");
        assertThat(key.prefix()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "Host", "content-length", "transfer-encoding", "connection", "toolgate-task",
            "traceparent", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"})
    void headersTheSidecarOwnsAreRefused(String name) {
        assertThatThrownBy(() -> CredentialConfig.staticFromEnv(name, null, "K"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("header: \"" + name + "\" (expected: a header the sidecar does not own");
        assertThatThrownBy(() -> CredentialConfig.taskJwt(name, "aud", null))
                .hasMessageStartingWith("header: \"" + name + "\"");
    }

    @ParameterizedTest
    @ValueSource(strings = {":authority", ":path", ":method", ":scheme", ":status", ":protocol"})
    void pseudoHeadersAreRefused(String name) {
        assertThatThrownBy(() -> CredentialConfig.staticFromEnv(name, null, "K"))
                .hasMessage("header: \"" + name + "\" (expected: not a pseudo-header)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"x y", "", "x:y", "x\r\ny", "caf\u00e9", "a/b"})
    void aHeaderMustBeAnHttpToken(String name) {
        assertThatThrownBy(() -> CredentialConfig.staticFromEnv(name, null, "K"))
                .hasMessage("header: \"" + name + "\" (expected: an HTTP header name)");
    }

    @Test
    void aStaticCredentialNeedsExactlyOneSource() {
        assertThatThrownBy(() -> new CredentialConfig("static", null, null, Path.of("k"), "K", null, null))
                .hasMessageContaining("exactly one of file or env");
        assertThatThrownBy(() -> new CredentialConfig("static", null, null, null, null, null, null))
                .hasMessageContaining("exactly one of file or env");
        assertThatThrownBy(() -> CredentialConfig.staticFromEnv(null, null, "1BAD"))
                .hasMessageContaining("env: \"1BAD\" (expected: an environment variable name");
        assertThatThrownBy(() -> CredentialConfig.staticFromEnv(null, "Bearer\r\n", "K"))
                .hasMessageContaining("prefix").hasMessageContaining("expected: printable ASCII");
        assertThatThrownBy(() -> new CredentialConfig("static", null, null, null, "K", "aud", null))
                .hasMessage("audience: set for type static (expected: only with type task-jwt)");
    }

    @Test
    void aTaskJwtNeedsAnAudienceAndASaneTtl() {
        assertThatThrownBy(() -> CredentialConfig.taskJwt(null, null, null))
                .hasMessageStartingWith("audience: null (expected:");
        assertThatThrownBy(() -> CredentialConfig.taskJwt(null, " ", null)).hasMessageStartingWith("audience:");
        assertThatThrownBy(() -> CredentialConfig.taskJwt(null, "aud", Duration.ofSeconds(10)))
                .hasMessage("ttl: PT10S (expected: 1m..24h)");
        assertThatThrownBy(() -> CredentialConfig.taskJwt(null, "aud", Duration.ofDays(2)))
                .hasMessage("ttl: PT48H (expected: 1m..24h)");
        assertThatThrownBy(() -> new CredentialConfig("task-jwt", null, "Bearer ", null, null, "aud", null))
                .hasMessage("prefix: set for type task-jwt (expected: only with type static)");
        assertThatThrownBy(() -> new CredentialConfig("task-jwt", null, null, null, "K", "aud", null))
                .hasMessageStartingWith("env: set for type task-jwt");
    }

    @Test
    void theTypeIsRequiredAndKnown() {
        assertThatThrownBy(() -> new CredentialConfig(null, null, null, null, "K", null, null))
                .hasMessage("type: missing (expected: static or task-jwt)");
        assertThatThrownBy(() -> new CredentialConfig("oauth", null, null, null, "K", null, null))
                .hasMessage("type: \"oauth\" (expected: static or task-jwt)");
    }
}
