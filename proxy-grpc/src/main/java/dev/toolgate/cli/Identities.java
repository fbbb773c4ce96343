package dev.toolgate.cli;

import dev.toolgate.config.IdentityConfig;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.FileTlsMaterial;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpireTlsMaterial;
import dev.toolgate.identity.TlsMaterial;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Optional;

/** Builds the sidecar's TLS material from its identity configuration. */
final class Identities {
    /** How often the {@code files} source looks for a rotated SVID. */
    static final Duration RELOAD_POLL = Duration.ofSeconds(2);

    private Identities() {}

    static TlsMaterial load(IdentityConfig cfg) throws IOException, GeneralSecurityException {
        return switch (cfg.source()) {
            case "dev" -> {
                DevCa ca = DevCa.openOrCreate(cfg.stateDir(), cfg.trustDomain());
                yield TlsMaterial.of(ca.issue(SpiffeId.parse(cfg.spiffeId())), ca.bundles());
            }
            case "files" -> FileTlsMaterial.watch(cfg.certificate(), cfg.key(), cfg.bundle(), RELOAD_POLL);
            // Waits (up to startupTimeout) for the first SVID; the sidecar does not listen without one.
            case "spire" -> SpireTlsMaterial.connect(SpireTlsMaterial.address(cfg.socket()),
                    Optional.ofNullable(cfg.spiffeId()).map(SpiffeId::parse), cfg.startupTimeout());
            default -> throw new IllegalArgumentException("identity source: " + cfg.source());
        };
    }
}
