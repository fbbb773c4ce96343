package dev.toolgate.cli;

import dev.toolgate.config.IdentityConfig;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.FileTlsMaterial;
import dev.toolgate.identity.JwtBundles;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpireTlsMaterial;
import dev.toolgate.identity.TlsMaterial;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Optional;

/** Builds the sidecar's TLS material and JWT bundles from its identity configuration. */
final class Identities {
    /**
     * The sidecar's identity: its TLS material and the JWT bundles JWT-SVIDs are verified against (used when the
     * listener enables JWT-SVIDs). {@link #close} stops a rotating source.
     */
    record Loaded(TlsMaterial tls, JwtBundles jwtBundles) implements AutoCloseable {
        @Override
        public void close() {
            if (tls instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("toolgate: closing the identity source: " + e);
                }
            }
        }
    }

    /** How often the {@code files} source looks for a rotated SVID. */
    static final Duration RELOAD_POLL = Duration.ofSeconds(2);

    private Identities() {}

    static Loaded load(IdentityConfig cfg) throws IOException, GeneralSecurityException {
        return switch (cfg.source()) {
            case "dev" -> {
                DevCa ca = DevCa.openOrCreate(cfg.stateDir(), cfg.trustDomain());
                yield new Loaded(TlsMaterial.of(ca.issue(SpiffeId.parse(cfg.spiffeId())), ca.bundles()),
                        ca.jwtBundles());
            }
            case "files" -> {
                // The JWKS files first: nothing to close if one of them does not load.
                JwtBundles jwt = cfg.jwtBundles().isEmpty() ? JwtBundles.none() : JwtBundles.readJwks(cfg.jwtBundles());
                yield new Loaded(FileTlsMaterial.watch(cfg.certificate(), cfg.key(), cfg.bundle(), RELOAD_POLL), jwt);
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
