package dev.toolgate.identity;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A JDK {@link SSLContext} that presents an SVID and trusts the given bundles: for JDK clients of the sidecar
 * (the demo's scripted agent, tests using {@code java.net.http.HttpClient} or raw sockets). Only PKIX trust, no
 * SPIFFE checks: this is the agent's side, which verifies the sidecar by host name like any HTTPS client.
 */
public final class JdkSslContexts {
    private static final char[] NO_PASSWORD = new char[0];

    private JdkSslContexts() {}

    /**
     * @throws GeneralSecurityException if the key or certificates cannot be loaded into a key store
     */
    public static SSLContext client(Svid svid, TrustBundles trust) throws GeneralSecurityException {
        try {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("svid", svid.key(), NO_PASSWORD, svid.chain().toArray(new Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, NO_PASSWORD);

            KeyStore anchors = KeyStore.getInstance("PKCS12");
            anchors.load(null, null);
            int i = 0;
            for (String td : trust.trustDomains()) {
                List<X509Certificate> cas = trust.forTrustDomain(td).orElseThrow();
                for (X509Certificate ca : cas) {
                    anchors.setCertificateEntry("ca-" + i++, ca);
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(anchors);

            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException("cannot build a key store: " + e.getMessage(), e);
        }
    }
}
