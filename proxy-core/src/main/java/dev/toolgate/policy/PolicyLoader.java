package dev.toolgate.policy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.config.ConfigException;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.RouteConfig;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Loads policy documents ({@code kind: Policy}, one per file) from files and directories (every {@code *.yaml} and
 * {@code *.yml} in a directory, sorted by name, hidden files skipped) and compiles them against the configured
 * routes into one {@link PolicySet}.
 *
 * <p>Validation is strict and all or nothing: unknown keys, duplicate keys, a value of the wrong type, a route or
 * label no route declares, an operation that cannot match on its route's protocol, a CEL condition that does not
 * compile or type-check or exceeds the limits, two documents with one name — any of these refuses the whole set
 * with a {@link PolicyException} naming file, line, path and what was expected. Nothing is loaded from no files
 * at all: the set is then {@link PolicySet#empty()} (deny everything).
 *
 * <p>Stateless and thread-safe.
 */
public final class PolicyLoader {
    private PolicyLoader() {}

    /**
     * Reads and compiles the documents under {@code sources}.
     *
     * @param sources files and directories of policy documents
     * @param routes  the configured routes (names, protocols, labels) the documents may refer to
     * @throws PolicyException if a file cannot be read or any document is invalid
     */
    public static PolicySet load(List<Path> sources, List<RouteConfig> routes) throws PolicyException {
        requireNonNull(sources, "sources");
        requireNonNull(routes, "routes");
        List<PolicyCompiler.Source> texts = new ArrayList<>();
        for (Path file : files(sources)) {
            texts.add(new PolicyCompiler.Source(file.toString(), read(file)));
        }
        return PolicyCompiler.compile(texts, routeInfo(routes));
    }

    /** The policy files under {@code sources}: files as named, then each directory's YAML files sorted by name. */
    static List<Path> files(List<Path> sources) throws PolicyException {
        try {
            return ConfigLoader.yamlFiles(sources, "policy");
        } catch (ConfigException e) {
            throw new PolicyException(e.getMessage(), e);
        }
    }

    static String read(Path file) throws PolicyException {
        try {
            if (Files.size(file) > PolicyYaml.MAX_FILE_CHARS) {
                throw new PolicyException(file + ": " + Files.size(file) + " bytes (expected: <= "
                        + PolicyYaml.MAX_FILE_CHARS + ")");
            }
            return Files.readString(file);
        } catch (CharacterCodingException e) {
            throw new PolicyException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new PolicyException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    static Map<String, PolicyCompiler.RouteInfo> routeInfo(List<RouteConfig> routes) {
        Map<String, PolicyCompiler.RouteInfo> out = new HashMap<>();
        for (RouteConfig r : routes) {
            out.put(r.name(), new PolicyCompiler.RouteInfo(r.name(), r.protocol(), r.grpc(), Set.copyOf(r.labels())));
        }
        return Map.copyOf(out);
    }
}
