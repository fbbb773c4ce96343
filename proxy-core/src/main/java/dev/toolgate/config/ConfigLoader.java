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
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
            .addModule(new SimpleModule().addDeserializer(Duration.class, new DurationDeserializer()))
            .build();

    /** Larger configuration files are refused (a route set of thousands of routes is far smaller). */
    private static final long MAX_FILE_BYTES = 4L * 1024 * 1024;

    private static final Pattern SCANNER_LINE = Pattern.compile("in '[^']*', line (\\d{1,9}), column");

    private ConfigLoader() {}

    /** Loads and validates {@code file}; {@link ConfigException} names the file and the path of the bad value. */
    public static SidecarConfig load(Path file) throws ConfigException {
        Path base = file.toAbsolutePath().getParent();
        SidecarFile raw = read(file, SidecarFile.class);
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
        try {
            return new SidecarConfig(raw.listener(), raw.identity() == null ? null : raw.identity().resolve(base),
                    raw.limits(), raw.timeouts(),
                    (raw.audit() == null ? AuditConfig.defaults() : raw.audit()).resolve(base), raw.admin(), routes,
                    raw.tasks() == null ? null : raw.tasks().resolve(base), policies, raw.control(),
                    raw.approvals(), routeSources);
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
        List<Path> files = new ArrayList<>();
        for (Path p : sources) {
            if (Files.isRegularFile(p)) {
                files.add(p);
                continue;
            }
            if (!Files.isDirectory(p)) {
                throw new ConfigException(p + ": not found (expected: an existing route file or directory)");
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
        RouteFile rf = parse(routeFile, text, lines, RouteFile.class);
        if (rf.routes() == null) {
            return new FileRoutes(List.of(), lines);
        }
        Path base = routeFile.toAbsolutePath().getParent();
        return new FileRoutes(rf.routes().stream().map(r -> r == null ? null : r.resolve(base)).toList(), lines);
    }

    /** One file's routes (null for an empty list entry) and where its entries are. */
    private record FileRoutes(List<RouteConfig> routes, YamlLines lines) {}

    private static <T> T read(Path file, Class<T> type) throws ConfigException {
        String text = text(file);
        return parse(file, text, YamlLines.index(text), type);
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
     * Binds {@code text}; an error names {@code file:line}, the path inside the document and what was expected.
     */
    private static <T> T parse(Path file, String text, YamlLines lines, Class<T> type) throws ConfigException {
        try {
            T value = YAML.readValue(text, type);
            if (value == null) {
                throw new ConfigException(file + ": empty document (expected: a YAML mapping)");
            }
            return value;
        } catch (JsonMappingException e) {
            JsonProcessingException syntax = syntaxError(e);
            if (syntax != null) {
                throw notYaml(file, syntax);
            }
            String path = pathOf(e);
            int line = lines.line(path.equals("(top level)") ? "" : path);
            if (line <= 0 && e.getLocation() != null) {
                line = e.getLocation().getLineNr();
            }
            throw new ConfigException(file + (line > 0 ? ":" + line : "") + ": " + path + ": " + reason(e), e);
        } catch (JsonProcessingException e) {
            throw notYaml(file, e);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** A parse error of the YAML itself that surfaced while binding (Jackson wraps it), or null. */
    private static JsonProcessingException syntaxError(JsonMappingException e) {
        for (Throwable t = e.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
            if (t instanceof JsonProcessingException p && !(t instanceof JsonMappingException)) {
                return p;
            }
        }
        return null;
    }

    /** {@code file:line: not valid YAML: what the scanner said} (without its location and snippet lines). */
    private static ConfigException notYaml(Path file, JsonProcessingException e) {
        // The scanner's own mark ("in 'reader', line 3, column 1") is where the problem is; Jackson's location is
        // where its last token started, often the line before.
        Matcher mark = SCANNER_LINE.matcher(String.valueOf(e.getOriginalMessage()));
        int line = mark.find() ? Integer.parseInt(mark.group(1))
                : e.getLocation() == null ? -1 : e.getLocation().getLineNr();
        StringBuilder what = new StringBuilder();
        for (String part : String.valueOf(e.getOriginalMessage()).split("\n")) {
            if (part.startsWith(" in '") || part.isBlank()) {
                break;
            }
            what.append(what.isEmpty() ? "" : ": ").append(part.strip());
        }
        return new ConfigException(file + (line > 0 ? ":" + line : "") + ": not valid YAML: " + what, e);
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
