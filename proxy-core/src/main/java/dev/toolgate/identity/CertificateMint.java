package dev.toolgate.identity;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;

/** Key generation and certificate signing for {@link DevCa}, with BouncyCastle's builders. */
final class CertificateMint {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String SIGNATURE = "SHA256withECDSA";

    private CertificateMint() {}

    static KeyPair newP256KeyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return generator.generateKeyPair();
    }

    /** A random positive 128-bit serial number (never zero). */
    static BigInteger newSerial() {
        byte[] bytes = new byte[16];
        BigInteger serial;
        do {
            RANDOM.nextBytes(bytes);
            serial = new BigInteger(1, bytes);
        } while (serial.signum() == 0);
        return serial;
    }

    static X509Certificate selfSignedCa(KeyPair keys, SpiffeId trustDomainId, Instant notBefore, Instant notAfter)
            throws GeneralSecurityException {
        X500Name name = new X500Name("O=toolgate, OU=dev CA, CN=" + trustDomainId.trustDomain());
        try {
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, newSerial(),
                    Date.from(notBefore), Date.from(notAfter), name, keys.getPublic())
                    // pathLen 0: the dev CA signs leaves only.
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, trustDomainId.uri())));
            return sign(builder, keys.getPrivate());
        } catch (CertIOException e) {
            throw new GeneralSecurityException("cannot encode the dev CA certificate", e);
        }
    }

    static X509Certificate leaf(X509Certificate ca, PrivateKey caKey, KeyPair keys, SpiffeId id,
            Instant notBefore, Instant notAfter, List<String> dnsNames, List<String> ipAddresses)
            throws GeneralSecurityException {
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.uniformResourceIdentifier, id.uri()));
        for (String dns : dnsNames) {
            names.add(new GeneralName(GeneralName.dNSName, checkDnsName(dns)));
        }
        for (String ip : ipAddresses) {
            if (!IPAddress.isValid(ip)) {
                throw new IllegalArgumentException("IP address SAN " + SpiffeId.quote(ip)
                        + " (expected: an IPv4 or IPv6 literal)");
            }
            names.add(new GeneralName(GeneralName.iPAddress, ip));
        }
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca, newSerial(),
                    Date.from(notBefore), Date.from(notAfter), new X500Name("O=toolgate, OU=dev SVID"), keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(names.toArray(GeneralName[]::new)));
            return sign(builder, caKey);
        } catch (CertIOException e) {
            throw new GeneralSecurityException("cannot encode the SVID of " + id, e);
        }
    }

    private static String checkDnsName(String dns) {
        if (!dns.matches("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*")) {
            throw new IllegalArgumentException("DNS SAN " + SpiffeId.quote(dns) + " (expected: a host name)");
        }
        return dns;
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder(SIGNATURE).build(key)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign with " + SIGNATURE, e);
        }
    }
}
