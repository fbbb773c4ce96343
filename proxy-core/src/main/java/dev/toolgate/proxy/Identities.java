package dev.toolgate.proxy;

import dev.toolgate.config.IdentityConfig;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.FileTlsMaterial;
import dev.toolgate.identity.JwtBundles;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpireTlsMaterial;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.identity.TrustBundleFiles;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the sidecar's TLS material and JWT bundles from its identity configuration ({@code dev}, {@code files} or
 * {@code spire}). Stateless and thread-safe.
 */
public final class Identities {
    private static final Logger log = LoggerFactory.getLogger(Identities.class);

    /**
     * The sidecar's identity: its TLS material and the JWT bundles JWT-SVIDs are verified against (used when the
     * listener enables JWT-SVIDs). {@link #close} stops a rotating source.
     */
    public record Loaded(TlsMaterial tls, JwtBundles jwtBundles) implements AutoCloseable {
        /** Stops a rotating source (SPIRE stream, file polling); a failure to close is logged, never thrown. */
        @Override
        public void close() {
            if (tls instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    log.warn("closing the identity source failed", e);
                }
            }
        }
    }

    /** How often the {@code files} source looks for a rotated SVID. */
    static final Duration RELOAD_POLL = Duration.ofSeconds(2);

    private Identities() {}

    /**
     * Loads the identity {@code cfg} describes; for {@code spire}, waits up to {@code startupTimeout} for the first
     * SVID.
     *
     * @throws IOException              if a file, the dev CA's state or the SPIRE agent cannot be read
     * @throws GeneralSecurityException if the key material does not parse or verify
     * @throws IllegalArgumentException if the source is unknown
     */
    public static Loaded load(IdentityConfig cfg) throws IOException, GeneralSecurityException {
        return switch (cfg.source()) {
            case "dev" -> {
                DevCa ca = DevCa.openOrCreate(cfg.stateDir(), cfg.trustDomain());
                yield new Loaded(TlsMaterial.of(ca.issue(SpiffeId.parse(cfg.spiffeId())), ca.bundles()),
                        ca.jwtBundles());
            }
            case "files" -> {
                // The JWKS files first: nothing to close if one of them does not load.
                JwtBundles jwt = cfg.jwtBundles().isEmpty() ? JwtBundles.none() : JwtBundles.readJwks(cfg.jwtBundles());
                TrustBundleFiles bundles = TrustBundleFiles.of(cfg.bundle(), cfg.bundles());
                yield new Loaded(FileTlsMaterial.watch(cfg.certificate(), cfg.key(), bundles, RELOAD_POLL), jwt);
            }
            // Waits (up to startupTimeout) for the first SVID; the sidecar does not listen without one.
            case "spire" -> {
                SpireTlsMaterial spire = SpireTlsMaterial.connect(SpireTlsMaterial.address(cfg.socket()),
                        Optional.ofNullable(cfg.spiffeId()).map(SpiffeId::parse), cfg.startupTimeout());
                yield new Loaded(spire, spire.jwtSvidBundles());
            }
            default -> throw new IllegalArgumentException("identity source: " + cfg.source());
        };
    }
}
