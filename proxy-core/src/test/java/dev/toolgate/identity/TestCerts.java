package dev.toolgate.identity;

import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Builds well-formed and deliberately malformed certificates with BouncyCastle for the tests. */
final class TestCerts {

    /** A certificate and its key pair. */
    record Issued(X509Certificate cert, PrivateKey key) {
        Svid svid() {
            return Svid.of(List.of(cert), key);
        }
    }

    private TestCerts() {}

    /** A self-signed root CA without a path length limit. */
    static Issued root(String trustDomain) throws Exception {
        return cert(null).subject("CN=test root " + trustDomain).ca(true)
                .keyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign).uris("spiffe://" + trustDomain).build();
    }

    /** The dev CA as an issuer (its key is read back from the state directory). */
    static Issued issuer(DevCa ca, Path stateDir) throws Exception {
        return new Issued(ca.certificate(), Pem.readPrivateKey(stateDir.resolve(DevCa.CA_KEY)));
    }

    /** A correct SVID leaf for {@code id}, to be changed by the caller. */
    static Builder leaf(Issued issuer, String id) {
        return cert(issuer).uris(id).keyUsage(KeyUsage.digitalSignature);
    }

    /** A bare certificate: no extensions unless set. {@code issuer == null} means self-signed. */
    static Builder cert(Issued issuer) {
        return new Builder(issuer);
    }

    static final class Builder {
        private final Issued issuer;
        private String subject = "O=toolgate test";
        private final List<GeneralName> sans = new ArrayList<>();
        private Boolean ca;
        private Integer keyUsage;
        private Instant notBefore = Instant.now().minus(1, ChronoUnit.MINUTES);
        private Instant notAfter = Instant.now().plus(1, ChronoUnit.HOURS);

        private Builder(Issued issuer) {
            this.issuer = issuer;
        }

        Builder subject(String dn) {
            this.subject = dn;
            return this;
        }

        Builder uris(String... uris) {
            sans.removeIf(n -> n.getTagNo() == GeneralName.uniformResourceIdentifier);
            for (String uri : uris) {
                sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
            }
            return this;
        }

        Builder dns(String name) {
            sans.add(new GeneralName(GeneralName.dNSName, name));
            return this;
        }

        /** Sets basicConstraints (critical); {@code null} leaves it out. */
        Builder ca(Boolean isCa) {
            this.ca = isCa;
            return this;
        }

        /** Sets keyUsage (critical) to BouncyCastle {@link KeyUsage} bits; {@code null} leaves it out. */
        Builder keyUsage(Integer bits) {
            this.keyUsage = bits;
            return this;
        }

        Builder validity(Instant from, Duration length) {
            this.notBefore = from;
            this.notAfter = from.plus(length);
            return this;
        }

        Issued build() throws Exception {
            KeyPair keys = CertificateMint.newP256KeyPair();
            X500Name name = new X500Name(subject);
            X509v3CertificateBuilder b = issuer == null
                    ? new JcaX509v3CertificateBuilder(name, serial(), Date.from(notBefore), Date.from(notAfter), name, keys.getPublic())
                    : new JcaX509v3CertificateBuilder(issuer.cert(), serial(), Date.from(notBefore), Date.from(notAfter), name, keys.getPublic());
            if (ca != null) {
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            }
            if (keyUsage != null) {
                b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
            }
            if (!sans.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
            }
            PrivateKey signer = issuer == null ? keys.getPrivate() : issuer.key();
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
            return new Issued(cert, keys.getPrivate());
        }

        private static BigInteger serial() {
            return CertificateMint.newSerial();
        }
    }

    /** Messages of a throwable and all its causes, for asserting on the reason of a failure. */
    static String messages(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append(" <- ");
        }
        return b.toString();
    }
}
