package dev.toolgate.identity;

import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.workloadapi.X509Context;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one X.509 context from the Workload API makes: the TLS contexts of the sidecar's SVID and the trust bundles
 * they verify peers against. Immutable.
 */
record WorkloadMaterial(TlsMaterial tls, TrustBundles bundles) {
    private static final Logger log = LoggerFactory.getLogger(WorkloadMaterial.class);

    /**
     * Picks the SVID ({@code wanted}, else the first) and takes every bundle of the context.
     *
     * @throws GeneralSecurityException if the context has no SVID with the wanted ID, the SVID is not one by
     *     {@link Svid#of}, there is no bundle for its own trust domain, or the TLS provider refuses the key
     */
    static WorkloadMaterial of(X509Context context, Optional<SpiffeId> wanted) throws GeneralSecurityException {
        X509Svid chosen = pick(context.getX509Svids(), wanted);
        Svid own;
        try {
            own = Svid.of(chosen.getChain(), chosen.getPrivateKey());
        } catch (IllegalArgumentException e) {
            throw new GeneralSecurityException("SVID " + chosen.getSpiffeId() + ": " + e.getMessage(), e);
        }
        TrustBundles bundles = bundles(context.getX509BundleSet().getBundles(), own.id().trustDomain());
        try {
            return new WorkloadMaterial(TlsMaterial.of(own, bundles), bundles);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new GeneralSecurityException(e.getMessage(), e);
        }
    }

    private static X509Svid pick(List<X509Svid> svids, Optional<SpiffeId> wanted) throws GeneralSecurityException {
        if (svids.isEmpty()) {
            throw new GeneralSecurityException("the X.509 context holds no SVID");
        }
        if (wanted.isEmpty()) {
            return svids.get(0);
        }
        String id = wanted.get().toString();
        for (X509Svid svid : svids) {
            if (svid.getSpiffeId().toString().equals(id)) {
                return svid;
            }
        }
        throw new GeneralSecurityException("no SVID for " + id + " among those offered: "
                + svids.stream().map(s -> s.getSpiffeId().toString()).toList());
    }

    /**
     * Every usable bundle. One whose trust domain name breaks our rules, or that holds no CA, is left out (which
     * can only trust less); the bundle of our own trust domain must be there, or agents of our own domain could
     * not be verified.
     */
    private static TrustBundles bundles(Map<TrustDomain, X509Bundle> offered, String ownTrustDomain)
            throws GeneralSecurityException {
        Map<String, List<X509Certificate>> byName = new TreeMap<>();
        offered.forEach((td, bundle) -> {
            String name = td.getName();
            List<X509Certificate> cas = List.copyOf(bundle.getX509Authorities());
            try {
                SpiffeId.checkTrustDomain(name);
            } catch (IllegalArgumentException e) {
                log.warn("ignoring the X.509 bundle of trust domain {}: {}", SpiffeId.quote(name), e.getMessage());
                return;
            }
            if (cas.isEmpty()) {
                log.warn("ignoring the X.509 bundle of trust domain {}: it holds no CA certificate",
                        SpiffeId.quote(name));
                return;
            }
            byName.put(name, cas);
        });
        if (!byName.containsKey(ownTrustDomain)) {
            throw new GeneralSecurityException("no X.509 bundle for the SVID's own trust domain "
                    + SpiffeId.quote(ownTrustDomain) + " (offered: " + offered.keySet() + ")");
        }
        return TrustBundles.of(byName);
    }
}
