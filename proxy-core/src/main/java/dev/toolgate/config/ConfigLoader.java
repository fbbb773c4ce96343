package dev.toolgate.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads a sidecar configuration file and the route files it names.
 *
 * <p>The sidecar file has the keys {@code listener}, {@code identity}, {@code limits}, {@code timeouts},
 * {@code audit}, {@code admin}, {@code tasks}, {@code control}, {@code approvals}, {@code routes} and
 * {@code policies}. {@code routes} is a list of route
 * files or directories (every {@code *.yaml}/{@code *.yml} in them, sorted by name), relative to the sidecar file;
 * {@code policies} likewise lists policy document files or directories (read by
 * {@code dev.toolgate.policy.PolicyLoader}; only their existence is checked here; absent: no policy). Each route
 * file holds {@code routes:} with a list of routes; paths inside a route
 * (a credential's {@code file}) are relative to the route file. Unknown keys are
 * errors (a typo must not silently drop a setting). Durations are written {@code 500ms}, {@code 2s}, {@code 1m},
 * {@code 1h}.
 *
 * <p>Stateless and thread-safe.
 */
public final class ConfigLoader {

    private static final ObjectMapper YAML = JsonMapper.builder(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .addModule(new SimpleModule().addDeserializer(Duration.class, new DurationDeserializer()))
            .build();

    private ConfigLoader() {}

    /** Loads and validates {@code file}; {@link ConfigException} names the file and the path of the bad value. */
    public static SidecarConfig load(Path file) throws ConfigException {
        Path base = file.toAbsolutePath().getParent();
        SidecarFile raw = read(file, SidecarFile.class);
        List<RouteConfig> routes = new ArrayList<>();
        for (String entry : raw.routes() == null ? List.<String>of() : raw.routes()) {
            Path p = base.resolve(entry);
            for (Path routeFile : routeFiles(file, p)) {
                routes.addAll(readRoutes(routeFile));
            }
        }
        List<Path> policies = new ArrayList<>();
        for (String entry : raw.policies() == null ? List.<String>of() : raw.policies()) {
            Path p = base.resolve(entry);
            if (!Files.isRegularFile(p) && !Files.isDirectory(p)) {
                throw new ConfigException(file + ": policies: " + p + " (expected: an existing file or directory)");
            }
            policies.add(p);
        }
        try {
            return new SidecarConfig(raw.listener(), raw.identity() == null ? null : raw.identity().resolve(base),
                    raw.limits(), raw.timeouts(),
                    (raw.audit() == null ? AuditConfig.defaults() : raw.audit()).resolve(base), raw.admin(), routes,
                    raw.tasks() == null ? null : raw.tasks().resolve(base), policies, raw.control(),
                    raw.approvals());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e);
        }
    }

    /** Loads a route file on its own (the embedded demo, tests). */
    public static List<RouteConfig> loadRoutes(Path file) throws ConfigException {
        return readRoutes(file);
    }

    /** Parses a duration such as {@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}. */
    public static Duration parseDuration(String text) {
        String s = text.trim();
        int i = 0;
        while (i < s.length() && Character.isDigit(s.charAt(i))) {
            i++;
        }
        if (i == 0 || i > 12) {
            throw new IllegalArgumentException("\"" + text + "\" (expected: a duration such as 500ms, 2s, 1m, 1h)");
        }
        long n = Long.parseLong(s.substring(0, i));
        return switch (s.substring(i)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> throw new IllegalArgumentException(
                    "\"" + text + "\" (expected: a duration such as 500ms, 2s, 1m, 1h)");
        };
    }

    private static List<Path> routeFiles(Path configFile, Path p) throws ConfigException {
        if (Files.isRegularFile(p)) {
            return List.of(p);
        }
        if (!Files.isDirectory(p)) {
            throw new ConfigException(configFile + ": routes: " + p + " (expected: an existing file or directory)");
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
                    .filter(Files::isRegularFile)
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new ConfigException(configFile + ": routes: cannot list " + p + ": " + e.getMessage(), e);
        }
    }

    /** A route file's routes, their relative paths resolved against the route file's directory. */
    private static List<RouteConfig> readRoutes(Path routeFile) throws ConfigException {
        RouteFile rf = read(routeFile, RouteFile.class);
        if (rf.routes() == null) {
            return List.of();
        }
        Path base = routeFile.toAbsolutePath().getParent();
        return rf.routes().stream().map(r -> r == null ? null : r.resolve(base)).toList();
    }

    private static <T> T read(Path file, Class<T> type) throws ConfigException {
        try {
            T value = YAML.readValue(file.toFile(), type);
            if (value == null) {
                throw new ConfigException(file + ": empty document (expected: a YAML mapping)");
            }
            return value;
        } catch (JsonMappingException e) {
            throw new ConfigException(file + ": " + pathOf(e) + ": " + reason(e), e);
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + ": not valid YAML: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Where in a YAML document a binding error is, as {@code routes[1].upstream.url} ({@code (top level)} at the root);
     * shared by every loader of the project's YAML files.
     */
    public static String pathOf(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            } else if (ref.getFieldName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(ref.getFieldName());
            }
        }
        return sb.isEmpty() ? "(top level)" : sb.toString();
    }

    private static String reason(JsonMappingException e) {
        // A record constructor's IllegalArgumentException carries the useful text; Jackson wraps it.
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        if (t instanceof IllegalArgumentException && t.getMessage() != null) {
            return t.getMessage();
        }
        String msg = e.getOriginalMessage();
        int nl = msg.indexOf('\n');
        return nl > 0 ? msg.substring(0, nl) : msg;
    }

    /** The sidecar file as written: route entries are file or directory names. */
    record SidecarFile(ListenerConfig listener, IdentityConfig identity, LimitsConfig limits, TimeoutsConfig timeouts,
                       AuditConfig audit, AdminConfig admin, List<String> routes, TasksConfig tasks,
                       List<String> policies, ControlConfig control, ApprovalsConfig approvals) {}

    /** A route file. */
    record RouteFile(List<RouteConfig> routes) {}

    private static final class DurationDeserializer extends JsonDeserializer<Duration> {
        @Override
        public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            try {
                return parseDuration(p.getValueAsString(""));
            } catch (IllegalArgumentException e) {
                throw JsonMappingException.from(p, e.getMessage(), e);
            }
        }
    }
}
