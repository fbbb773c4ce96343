package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.nio.file.Path;

/**
 * Where the sidecar gets its own X.509-SVID and the trust bundle it verifies agents against.
 *
 * <p>{@code source: dev} mints the sidecar's SVID from the built-in dev CA under {@code stateDir} (demo and
 * tests only); {@code source: files} reads PEM files, e.g. written by a SPIRE helper or cert-manager.
 *
 * @param source      {@code dev} or {@code files}
 * @param trustDomain dev CA trust domain (source dev)
 * @param spiffeId    the sidecar's own SPIFFE ID (source dev)
 * @param stateDir    dev CA state directory (source dev)
 * @param certificate PEM chain, leaf first (source files)
 * @param key         PEM private key (source files)
 * @param bundle      PEM trust bundle (source files)
 */
public record IdentityConfig(
        String source, String trustDomain, String spiffeId, Path stateDir, Path certificate, Path key, Path bundle) {

    public IdentityConfig {
        source = requireNonNullElse(source, "dev");
        switch (source) {
            case "dev" -> {
                trustDomain = requireNonNullElse(trustDomain, "toolgate.dev");
                spiffeId = requireNonNullElse(spiffeId, "spiffe://" + trustDomain + "/toolgate/sidecar");
                stateDir = requireNonNullElse(stateDir, Path.of(".toolgate", "dev-ca"));
            }
            case "files" -> {
                if (certificate == null || key == null || bundle == null) {
                    throw new IllegalArgumentException(
                            "source files: certificate, key and bundle are all required (expected: PEM file paths)");
                }
            }
            default -> throw new IllegalArgumentException("source: " + source + " (expected: dev or files)");
        }
    }

    public static IdentityConfig defaults() {
        return new IdentityConfig(null, null, null, null, null, null, null);
    }

    /** The same setting with relative paths resolved against {@code base} (the config file's directory). */
    IdentityConfig resolve(Path base) {
        return new IdentityConfig(source, trustDomain, spiffeId,
                stateDir == null ? null : base.resolve(stateDir),
                certificate == null ? null : base.resolve(certificate),
                key == null ? null : base.resolve(key),
                bundle == null ? null : base.resolve(bundle));
    }
}
