package dev.toolgate.testing;

import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.JdkSslContexts;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.Svid;
import dev.toolgate.identity.TlsMaterial;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;

/**
 * Dev-CA identities for tests: one trust domain, the sidecar's SVID and agents' SVIDs, and their PEM files for
 * real clients such as curl.
 */
public final class TestPki {
    public static final String TRUST_DOMAIN = "toolgate.test";
    public static final SpiffeId SIDECAR = SpiffeId.parse("spiffe://toolgate.test/toolgate/sidecar");
    public static final SpiffeId AGENT = SpiffeId.parse("spiffe://toolgate.test/agents/researcher");

    private final Path dir;
    private final DevCa ca;
    private final TlsMaterial sidecarTls;

    private TestPki(Path dir, DevCa ca, TlsMaterial sidecarTls) {
        this.dir = dir;
        this.ca = ca;
        this.sidecarTls = sidecarTls;
    }

    public static TestPki create(Path dir) throws Exception {
        DevCa ca = DevCa.openOrCreate(dir.resolve("ca"), TRUST_DOMAIN);
        return new TestPki(dir, ca, TlsMaterial.of(ca.issue(SIDECAR), ca.bundles()));
    }

    public DevCa ca() {
        return ca;
    }

    public TlsMaterial sidecarTls() {
        return sidecarTls;
    }

    public Svid issue(SpiffeId id) throws Exception {
        return ca.issue(id);
    }

    /** Writes svid.pem, svid.key and bundle.pem for {@code id}; returns their directory. */
    public Path files(SpiffeId id) throws Exception {
        return ca.issueTo(id, dir.resolve("files").resolve(id.path().substring(1).replace('/', '_')));
    }

    /** A JDK client context that presents no certificate and trusts the dev CA (a JWT-SVID caller). */
    public SSLContext jdkClientWithoutCertificate() throws Exception {
        java.security.KeyStore anchors = java.security.KeyStore.getInstance("PKCS12");
        anchors.load(null, null);
        anchors.setCertificateEntry("ca", ca.certificate());
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(anchors);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** A JDK client context presenting {@code id}'s SVID and trusting the dev CA. */
    public SSLContext jdkClient(SpiffeId id) throws Exception {
        return JdkSslContexts.client(ca.issue(id), ca.bundles());
    }
}
