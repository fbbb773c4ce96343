package dev.toolgate.credential;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.config.CredentialConfig;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Static credentials: read at load from a file or the environment, sent as they are on every call. */
class StaticCredentialTest {
    static final TaskClaims TASK = new TaskClaims("t-1", "spiffe://toolgate.dev/agent/a", "report",
            Instant.now().plusSeconds(600));
    static final SigningKeys KEYS = SigningKeys.generate();

    @TempDir
    Path dir;

    static RouteConfig route(String name, CredentialConfig credential) {
        return new RouteConfig(name, "/api/" + name, null, null,
                new UpstreamConfig(URI.create("http://127.0.0.1:1"), null, null), null, null, credential);
    }

    static Credentials create(Function<String, String> env, RouteConfig... routes) {
        return Credentials.create(List.of(routes), KEYS, Clock.systemUTC(), env);
    }

    static Map<String, String> headersSet(Credentials c, String route) throws CredentialException {
        Map<String, String> set = new LinkedHashMap<>();
        c.apply(route, TASK, (name, value) -> set.put(name.toString(), value.toString()));
        return set;
    }

    @Test
    void aSecretFromAFileIsSentWithItsPrefixAndWithoutTheTrailingNewline() throws Exception {
        Files.writeString(dir.resolve("key"), "s3cr3t-token\n");
        Credentials c = create(name -> null,
                route("crm", CredentialConfig.staticFromFile(null, "Bearer ", dir.resolve("key"))));
        assertThat(headersSet(c, "crm")).containsExactly(Map.entry("authorization", "Bearer s3cr3t-token"));
        assertThat(c.headerNames("crm")).containsExactly("authorization");
    }

    @Test
    void aSecretFromTheEnvironmentGoesInTheConfiguredHeaderLowerCased() throws Exception {
        Credentials c = create(Map.of("WEATHER_API_KEY", "k-123")::get,
                route("weather", CredentialConfig.staticFromEnv("X-Api-Key", null, "WEATHER_API_KEY")));
        assertThat(headersSet(c, "weather")).containsExactly(Map.entry("x-api-key", "k-123"));
        assertThat(c.headerNames("weather")).containsExactly("x-api-key");
    }

    @Test
    void thePublicFactoryReadsTheProcessEnvironment() throws Exception {
        String path = System.getenv("PATH");
        Credentials c = Credentials.create(List.of(route("p", CredentialConfig.staticFromEnv("x-k", null, "PATH"))),
                KEYS, Clock.systemUTC());
        assertThat(headersSet(c, "p")).containsExactly(Map.entry("x-k", path));
    }

    @Test
    void aRouteWithoutCredentialSetsNothingAndAnUnknownRouteIsRefused() throws Exception {
        Credentials c = create(name -> null, route("plain", null));
        assertThat(headersSet(c, "plain")).isEmpty();
        assertThat(c.headerNames("plain")).isEmpty();
        assertThatThrownBy(() -> headersSet(c, "other"))
                .isInstanceOf(CredentialException.class)
                .hasMessageContaining("route other");
    }

    @Test
    void aMissingFileOrVariableFailsTheLoadNamingTheRoute() {
        assertThatThrownBy(() -> create(name -> null,
                route("crm", CredentialConfig.staticFromFile(null, null, dir.resolve("absent")))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("route crm")
                .hasMessageContaining("absent")
                .hasMessageContaining("cannot read");
        assertThatThrownBy(() -> create(name -> null,
                route("weather", CredentialConfig.staticFromEnv(null, null, "WEATHER_API_KEY"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("route weather: credential.env: WEATHER_API_KEY is not set"
                        + " (expected: the variable holding the secret)");
    }

    @Test
    void anEmptySecretFailsTheLoad() throws Exception {
        Files.writeString(dir.resolve("empty"), "\n");
        assertThatThrownBy(() -> create(name -> null,
                route("crm", CredentialConfig.staticFromFile(null, null, dir.resolve("empty")))))
                .hasMessageContaining("route crm").hasMessageContaining("is empty");
        assertThatThrownBy(() -> create(Map.of("K", "")::get, route("w", CredentialConfig.staticFromEnv(null, null, "K"))))
                .hasMessageContaining("route w").hasMessageContaining("is empty");
    }

    @Test
    void aSecretWithCrLfOrAnotherControlCharacterIsRefusedWithoutShowingIt() throws Exception {
        for (String bad : List.of("abc\r\nx-injected: 1", "abc\ndef", "abc\rdef", "a\tb", "a\u0000b", "a\u007fb")) {
            assertThatThrownBy(() -> create(Map.of("K", bad)::get,
                    route("w", CredentialConfig.staticFromEnv(null, null, "K"))))
                    .as("%s", bad.replace("\r", "\\r").replace("\n", "\\n"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("route w")
                    .hasMessageContaining("control character")
                    .hasMessageNotContaining("abc");
        }
        Files.writeString(dir.resolve("two-lines"), "line1\nline2\n");
        assertThatThrownBy(() -> create(name -> null,
                route("crm", CredentialConfig.staticFromFile(null, null, dir.resolve("two-lines")))))
                .hasMessageContaining("route crm").hasMessageContaining("control character");
        assertThatThrownBy(() -> create(Map.of("K", "caf\u00e9")::get,
                route("w", CredentialConfig.staticFromEnv(null, null, "K"))))
                .hasMessageContaining("non-ASCII");
    }

    @Test
    void anOversizedSecretFileIsRefused() throws Exception {
        Files.write(dir.resolve("big"), new byte[StaticSecrets.MAX_BYTES + 1]);
        assertThatThrownBy(() -> create(name -> null,
                route("crm", CredentialConfig.staticFromFile(null, null, dir.resolve("big")))))
                .hasMessageContaining("route crm").hasMessageContaining("larger than");
    }

    @Test
    void routeNamesMustBeUnique() {
        assertThatThrownBy(() -> create(name -> null, route("a", null), route("a", null)))
                .hasMessageContaining("route name a is used twice");
    }

    @Test
    void theSecretDoesNotShowInToString() {
        assertThat(new Injector.Static("x-api-key", "s3cr3t").toString()).doesNotContain("s3cr3t");
    }
}
