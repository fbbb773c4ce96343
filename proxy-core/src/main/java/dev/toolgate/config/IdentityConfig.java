package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpireTlsMaterial;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Where the sidecar gets its own X.509-SVID and the trust bundles it verifies agents against.
 *
 * <p>{@code source: dev} mints the sidecar's SVID from the built-in dev CA under {@code stateDir} (demo and
 * tests only); {@code source: files} reads PEM files, e.g. written by a SPIRE helper or cert-manager;
 * {@code source: spire} streams the SVID and the trust bundles (federated ones included) from the SPIFFE
 * Workload API of a SPIRE agent and follows their rotation.
 *
 * @param source         {@code dev}, {@code files} or {@code spire}
 * @param trustDomain    dev CA trust domain (source dev)
 * @param spiffeId       the sidecar's own SPIFFE ID (source dev); with source spire, which of the SVIDs the
 *                       Workload API offers is the sidecar's (unset: the first, SPIRE's default)
 * @param stateDir       dev CA state directory (source dev)
 * @param certificate    PEM chain, leaf first (source files)
 * @param key            PEM private key (source files)
 * @param bundle         PEM trust bundle of the sidecar's own trust domain, the domain of its SVID (source files);
 *                       a CA in it whose URI SAN names another trust domain ({@code spiffe://other.org}) is refused
 *                       at load, a CA without a SPIFFE URI SAN belongs to the own domain
 * @param bundles        PEM trust bundles by trust domain (source files; federation): each CA verifies only IDs of
 *                       the trust domain it is listed under, by the same rule; with {@code bundle}, the own trust
 *                       domain must not be listed again. {@code bundle}, {@code bundles} or both are required
 * @param socket         the Workload API address, {@code unix:///path} or {@code tcp://IP:port} (source spire;
 *                       unset: the {@code SPIFFE_ENDPOINT_SOCKET} environment variable, else
 *                       {@value SpireTlsMaterial#DEFAULT_ADDRESS})
 * @param startupTimeout how long the sidecar waits at start for its first SVID (source spire; default 30s)
 * @param jwtBundles     JWKS files by trust domain: the keys JWT-SVIDs of that trust domain may be signed with
 *                       (source files; read at start). Source spire streams the JWT bundles from the Workload API;
 *                       source dev uses the dev CA's own JWT key.
 */
public record IdentityConfig(
        String source, String trustDomain, String spiffeId, Path stateDir, Path certificate, Path key, Path bundle,
        Map<String, Path> bundles, String socket, Duration startupTimeout, Map<String, Path> jwtBundles) {

    public IdentityConfig {
        source = requireNonNullElse(source, "dev");
        jwtBundles = jwtBundles == null ? Map.of() : Map.copyOf(jwtBundles);
        bundles = bundles == null ? Map.of() : Map.copyOf(bundles);
        if (!source.equals("files") && !bundles.isEmpty()) {
            throw new IllegalArgumentException("bundles: not used by source " + source + " (remove it)");
        }
        for (String td : bundles.keySet()) {
            try {
                SpiffeId.of(td, "");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bundles: " + e.getMessage());
            }
        }
        if (!source.equals("files") && !jwtBundles.isEmpty()) {
            throw new IllegalArgumentException("jwtBundles: not used by source " + source + " (remove it; "
                    + (source.equals("spire") ? "the Workload API streams the JWT bundles" : "the dev CA has its own JWT key")
                    + ")");
        }
        for (String td : jwtBundles.keySet()) {
            try {
                SpiffeId.of(td, "");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("jwtBundles: " + e.getMessage());
            }
        }
        switch (source) {
            case "dev" -> {
                notFor("dev", "socket", socket);
                notFor("dev", "startupTimeout", startupTimeout);
                trustDomain = requireNonNullElse(trustDomain, "toolgate.dev");
                spiffeId = requireNonNullElse(spiffeId, "spiffe://" + trustDomain + "/toolgate/sidecar");
                stateDir = requireNonNullElse(stateDir, Path.of(".toolgate", "dev-ca"));
            }
            case "files" -> {
                notFor("files", "socket", socket);
                notFor("files", "startupTimeout", startupTimeout);
                if (certificate == null || key == null || (bundle == null && bundles.isEmpty())) {
                    throw new IllegalArgumentException("source files: certificate, key and bundle (or bundles by trust"
                            + " domain) are all required (expected: PEM file paths)");
                }
            }
            case "spire" -> {
                // SPIRE decides the trust domain and keeps the key: a file or dev-CA setting here is a mistake.
                notFor("spire", "trustDomain", trustDomain);
                notFor("spire", "stateDir", stateDir);
                notFor("spire", "certificate", certificate);
                notFor("spire", "key", key);
                notFor("spire", "bundle", bundle);
                if (socket != null) {
                    try {
                        SpireTlsMaterial.checkAddress(socket);
                    } catch (IllegalArgumentException e) {
                        // No cause: ConfigLoader reports the innermost message, which must keep the key's name.
                        throw new IllegalArgumentException("socket: " + e.getMessage());
                    }
                }
                if (spiffeId != null) {
                    SpiffeId id;
                    try {
                        id = SpiffeId.parse(spiffeId);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("spiffeId: " + e.getMessage());
                    }
                    if (id.path().isEmpty()) {
                        throw new IllegalArgumentException("spiffeId: " + spiffeId
                                + " has no path (expected: the ID of an SVID, such as spiffe://example.org/toolgate)");
                    }
                }
                startupTimeout = requireNonNullElse(startupTimeout, SpireTlsMaterial.DEFAULT_STARTUP_TIMEOUT);
                if (startupTimeout.isNegative() || startupTimeout.isZero()) {
                    throw new IllegalArgumentException("startupTimeout: " + startupTimeout + " (expected: > 0)");
                }
            }
            default -> throw new IllegalArgumentException("source: " + source + " (expected: dev, files or spire)");
        }
    }

    public static IdentityConfig defaults() {
        return new IdentityConfig(null, null, null, null, null, null, null, null, null, null, null);
    }

    /** The SPIRE source: Workload API at {@code socket} (null: environment, then default), optional own ID. */
    public static IdentityConfig spire(String socket, String spiffeId, Duration startupTimeout) {
        return new IdentityConfig("spire", null, spiffeId, null, null, null, null, null, socket, startupTimeout, null);
    }

    private static void notFor(String source, String name, Object value) {
        if (value != null) {
            throw new IllegalArgumentException(name + ": not used by source " + source + " (remove it)");
        }
    }

    /** The same setting with relative paths resolved against {@code base} (the config file's directory). */
    IdentityConfig resolve(Path base) {
        return new IdentityConfig(source, trustDomain, spiffeId,
                stateDir == null ? null : base.resolve(stateDir),
                certificate == null ? null : base.resolve(certificate),
                key == null ? null : base.resolve(key),
                bundle == null ? null : base.resolve(bundle),
                resolved(bundles, base), socket, startupTimeout, resolved(jwtBundles, base));
    }

    private static Map<String, Path> resolved(Map<String, Path> files, Path base) {
        Map<String, Path> m = new java.util.TreeMap<>();
        files.forEach((td, p) -> m.put(td, base.resolve(p)));
        return m;
    }
}
