package dev.toolgate.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.toolgate.common.Protocol;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads a sidecar configuration file and the route files it names.
 *
 * <p>The sidecar file has the keys {@code listener}, {@code identity}, {@code limits}, {@code timeouts},
 * {@code audit}, {@code admin}, {@code tasks}, {@code control}, {@code approvals}, {@code access}, {@code routes},
 * {@code policies}, {@code unrestrictedWithoutPolicy}, and {@code etcd} and {@code fleet} (with
 * {@code tasks.store: etcd}). The allow-lists that used to sit in
 * {@code listener}, {@code control} and {@code tasks} are refused there with the {@code access} key that replaced
 * them. {@code routes} is a list of route
 * files or directories (every {@code *.yaml}/{@code *.yml} in them, sorted by name), relative to the sidecar file;
 * {@code policies} likewise lists policy document files or directories (read by
 * {@code dev.toolgate.policy.PolicyLoader}; only their existence is checked here; absent: no policy, so nothing may be
 * granted unless {@code unrestrictedWithoutPolicy: true} opts out for a local experiment). Each route
 * file holds {@code routes:} with a list of routes; paths inside a route
 * (a credential's {@code file}) are relative to the route file. Unknown keys are
 * errors (a typo must not silently drop a setting); errors name {@code file:line}, the path inside the document and
 * what was expected. Durations are written {@code 500ms}, {@code 2s}, {@code 1m},
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
            .addModule(new SimpleModule()
                    .addDeserializer(Duration.class, new ScalarDeserializer<>(ConfigLoader::parseDuration))
                    .addDeserializer(Protocol.class, new ScalarDeserializer<>(Protocol::parse)))
            .build();

    /** Larger configuration files are refused (a route set of thousands of routes is far smaller). */
    private static final long MAX_FILE_BYTES = 4L * 1024 * 1024;

    /**
     * Keys of the sidecar file that moved into {@code access:}: refused with where they went, never read (an allow-list
     * must not be half in one place and half in another).
     */
    private static final Map<String, String> MOVED = Map.of(
            "listener.allowedIds", "access.agents",
            "control.allowedIds", "access.control",
            "tasks.orchestrators", "access.orchestrators",
            "tasks.admins", "access.admins",
            "control.approvers", "access.approvers",
            "control.auditors", "access.auditors",
            "control.extAuthzClients", "access.extAuthz");

    private ConfigLoader() {}

    /** Loads and validates {@code file}; {@link ConfigException} names the file and the path of the bad value. */
    public static SidecarConfig load(Path file) throws ConfigException {
        Path base = file.toAbsolutePath().getParent();
        SidecarFile raw = read(file, SidecarFile.class, MOVED);
        List<Path> routeSources = new ArrayList<>();
        for (String entry : raw.routes() == null ? List.<String>of() : raw.routes()) {
            Path p = base.resolve(entry);
            if (!Files.isRegularFile(p) && !Files.isDirectory(p)) {
                throw new ConfigException(file + ": routes: " + p + " (expected: an existing file or directory)");
            }
            routeSources.add(p);
        }
        List<RouteConfig> routes = loadRoutes(routeSources).routes();
        List<Path> policies = new ArrayList<>();
        for (String entry : raw.policies() == null ? List.<String>of() : raw.policies()) {
            Path p = base.resolve(entry);
            if (!Files.isRegularFile(p) && !Files.isDirectory(p)) {
                throw new ConfigException(file + ": policies: " + p + " (expected: an existing file or directory)");
            }
            policies.add(p);
        }
        boolean unrestricted = Boolean.TRUE.equals(raw.unrestrictedWithoutPolicy());
        if (unrestricted && !policies.isEmpty()) {
            throw new ConfigException(file + ": unrestrictedWithoutPolicy: true, but policies names " + policies
                    + " (expected: one or the other; the opt-out is for running without any policy)");
        }
        try {
            return new SidecarConfig(raw.listener(), raw.identity() == null ? null : raw.identity().resolve(base),
                    raw.limits(), raw.timeouts(),
                    (raw.audit() == null ? AuditConfig.defaults() : raw.audit()).resolve(base), raw.admin(), routes,
                    raw.tasks() == null ? null : raw.tasks().resolve(base), policies, raw.control(),
                    raw.approvals(), raw.access(), routeSources, raw.etcd() == null ? null : raw.etcd().resolve(base),
                    raw.fleet(), unrestricted);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e);
        }
    }

    /** Loads a route file on its own (the embedded demo, tests). */
    public static List<RouteConfig> loadRoutes(Path file) throws ConfigException {
        return readRoutes(file).routes();
    }

    /**
     * Loads the routes of every file under {@code sources} (files as named, then each directory's
     * {@code *.yaml}/{@code *.yml} files sorted by name, hidden files skipped) as one set: each route valid, names
     * and matches unique across all files. What the sidecar reads at start and again on every change of the files.
     *
     * @throws ConfigException naming the file, line, path and what was expected
     */
    public static LoadedRoutes loadRoutes(List<Path> sources) throws ConfigException {
        List<Path> files = routeFiles(sources);
        List<RouteConfig> routes = new ArrayList<>();
        Map<String, String> origins = new HashMap<>();
        Map<String, String> matches = new HashMap<>();
        for (Path file : files) {
            FileRoutes fr = readRoutes(file);
            for (int i = 0; i < fr.routes().size(); i++) {
                RouteConfig r = fr.routes().get(i);
                String at = file + ":" + fr.lines().line("routes[" + i + "]");
                if (r == null) {
                    throw new ConfigException(at + ": routes[" + i + "]: empty (expected: a route)");
                }
                String other = origins.putIfAbsent(r.name(), at);
                if (other != null) {
                    throw new ConfigException(at + ": routes[" + i + "].name: \"" + r.name()
                            + "\" is also the name of the route at " + other + " (expected: unique)");
                }
                String match = r.prefix() != null ? r.prefix() : "/" + r.grpc() + "/";
                String sameMatch = matches.putIfAbsent(match, at);
                if (sameMatch != null) {
                    throw new ConfigException(at + ": routes[" + i + "]: " + match + " is also matched by the route at "
                            + sameMatch + " (expected: one route per prefix or gRPC service)");
                }
                routes.add(r);
            }
        }
        return new LoadedRoutes(routes, files, origins, LoadedRoutes.versionOf(routes));
    }

    /**
     * The route files under {@code sources}, in the order they are read.
     *
     * @throws ConfigException if a source is neither a file nor a directory, or a directory cannot be listed
     */
    public static List<Path> routeFiles(List<Path> sources) throws ConfigException {
        return yamlFiles(sources, "route");
    }

    /**
     * The YAML files under {@code sources}: files as named, then each directory's {@code .yaml}/{@code .yml} files
     * (not hidden ones, such as a ConfigMap's {@code ..data}) sorted by name; used for route and policy files.
     *
     * @param kind what the files hold, for the error ({@code route}, {@code policy})
     * @throws ConfigException if a source neither is a file nor a directory, or cannot be listed
     */
    public static List<Path> yamlFiles(List<Path> sources, String kind) throws ConfigException {
        List<Path> files = new ArrayList<>();
        for (Path p : sources) {
            if (Files.isRegularFile(p)) {
                files.add(p);
                continue;
            }
            if (!Files.isDirectory(p)) {
                throw new ConfigException(p + ": not found (expected: an existing " + kind + " file or directory)");
            }
            try (Stream<Path> s = Files.list(p)) {
                s.filter(f -> {
                    String n = f.getFileName().toString();
                    return !n.startsWith(".") && (n.endsWith(".yaml") || n.endsWith(".yml"));
                }).filter(Files::isRegularFile).sorted().forEach(files::add);
            } catch (IOException e) {
                throw new ConfigException(p + ": cannot list: " + e.getMessage(), e);
            }
        }
        return files;
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

    /** A route file's routes, their relative paths resolved against the route file's directory. */
    private static FileRoutes readRoutes(Path routeFile) throws ConfigException {
        String text = text(routeFile);
        YamlLines lines = YamlLines.index(text);
        RouteFile rf = parse(routeFile, text, lines, RouteFile.class, Map.of());
        if (rf.routes() == null) {
            return new FileRoutes(List.of(), lines);
        }
        Path base = routeFile.toAbsolutePath().getParent();
        return new FileRoutes(rf.routes().stream().map(r -> r == null ? null : r.resolve(base)).toList(), lines);
    }

    /** One file's routes (null for an empty list entry) and where its entries are. */
    private record FileRoutes(List<RouteConfig> routes, YamlLines lines) {}

    private static <T> T read(Path file, Class<T> type, Map<String, String> moved) throws ConfigException {
        String text = text(file);
        return parse(file, text, YamlLines.index(text), type, moved);
    }

    private static String text(Path file) throws ConfigException {
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new ConfigException(file + ": " + Files.size(file) + " bytes (expected: <= " + MAX_FILE_BYTES
                        + ")");
            }
            return Files.readString(file);
        } catch (CharacterCodingException e) {
            throw new ConfigException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Binds {@code text}; an error names {@code file:line}, the path inside the document and what was expected (a key
     * in {@code moved}: where it went).
     */
    private static <T> T parse(Path file, String text, YamlLines lines, Class<T> type, Map<String, String> moved)
            throws ConfigException {
        try {
            UnknownKeys.Unknown unknown = UnknownKeys.first(YAML, YAML.readTree(text), type);
            if (unknown != null) {
                int line = lines.line(unknown.path());
                throw new ConfigException(file + (line > 0 ? ":" + line : "") + ": " + unknown.path() + ": "
                        + (moved.containsKey(unknown.path()) ? "moved (expected: " + moved.get(unknown.path()) + ")"
                        : YamlErrors.unknownKey(unknown.key(), unknown.known())));
            }
            T value = YAML.readValue(text, type);
            if (value == null) {
                throw new ConfigException(file + ": empty document (expected: a YAML mapping)");
            }
            return value;
        } catch (JsonProcessingException e) {
            throw new ConfigException(YamlErrors.describe(file.toString(), lines, e, moved), e);
        }
    }

    /** The sidecar file as written: route entries are file or directory names. */
    record SidecarFile(ListenerConfig listener, IdentityConfig identity, LimitsConfig limits, TimeoutsConfig timeouts,
                       AuditConfig audit, AdminConfig admin, List<String> routes, TasksConfig tasks,
                       List<String> policies, ControlConfig control, ApprovalsConfig approvals,
                       AccessConfig access, EtcdConfig etcd, FleetConfig fleet, Boolean unrestrictedWithoutPolicy) {}

    /** A route file. */
    record RouteFile(List<RouteConfig> routes) {}
}
