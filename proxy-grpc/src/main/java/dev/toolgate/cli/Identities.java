package dev.toolgate.cli;

import dev.toolgate.config.IdentityConfig;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.Svid;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.identity.TrustBundles;
import java.io.IOException;
import java.security.GeneralSecurityException;

/** Builds the sidecar's TLS material from its identity configuration. */
final class Identities {
    private Identities() {}

    static TlsMaterial load(IdentityConfig cfg) throws IOException, GeneralSecurityException {
        return switch (cfg.source()) {
            case "dev" -> {
                DevCa ca = DevCa.openOrCreate(cfg.stateDir(), cfg.trustDomain());
                yield TlsMaterial.of(ca.issue(SpiffeId.parse(cfg.spiffeId())), ca.bundles());
            }
            case "files" -> {
                Svid own = Svid.load(cfg.certificate(), cfg.key());
                yield TlsMaterial.of(own, TrustBundles.single(own.id().trustDomain(),
                        TrustBundles.loadPem(cfg.bundle())));
            }
            default -> throw new IllegalArgumentException("identity source: " + cfg.source());
        };
    }
}
