package dev.toolgate.identity;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyException;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * PEM reading and writing for certificates and private keys. Keys are read from PKCS#8
 * ({@code PRIVATE KEY}) or SEC1/PKCS#1 ({@code EC PRIVATE KEY}, {@code RSA PRIVATE KEY}) and
 * written as PKCS#8. Files are written to a temporary file and moved into place, so a reader
 * (a file watcher during rotation) never sees half a file. Conversions use the default JCA
 * providers; BouncyCastle is only the parser, never a registered provider.
 */
final class Pem {

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private Pem() {}

    /** Reads every CERTIFICATE block of a file (other blocks are ignored); at least one is required. */
    static List<X509Certificate> readCertificates(Path file) throws IOException, CertificateException {
        List<X509Certificate> certs = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
                PEMParser parser = new PEMParser(reader)) {
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof X509CertificateHolder holder) {
                    certs.add(converter.getCertificate(holder));
                }
            }
        }
        if (certs.isEmpty()) {
            throw new CertificateException("no CERTIFICATE block in " + file);
        }
        return List.copyOf(certs);
    }

    /** Reads the single unencrypted private key of a file. */
    static PrivateKey readPrivateKey(Path file) throws IOException, GeneralSecurityException {
        PrivateKey key = null;
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
                PEMParser parser = new PEMParser(reader)) {
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                PrivateKey found;
                if (o instanceof PrivateKeyInfo info) {
                    found = converter.getPrivateKey(info);
                } else if (o instanceof PEMKeyPair pair) {
                    // SEC1 "EC PRIVATE KEY": the public key inside is optional, so convert only the private part.
                    found = converter.getPrivateKey(pair.getPrivateKeyInfo());
                } else if (o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof PEMEncryptedKeyPair) {
                    throw new KeyException("encrypted private key in " + file + " (expected: unencrypted PKCS#8 or SEC1)");
                } else {
                    continue; // e.g. "EC PARAMETERS" written by `openssl ecparam -genkey`
                }
                if (key != null) {
                    throw new KeyException("more than one private key in " + file);
                }
                key = found;
            }
        }
        if (key == null) {
            throw new KeyException("no PRIVATE KEY or EC PRIVATE KEY block in " + file);
        }
        return key;
    }

    static String encodeCertificates(List<X509Certificate> certs) {
        StringBuilder b = new StringBuilder();
        for (X509Certificate cert : certs) {
            try {
                b.append(block("CERTIFICATE", cert.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalArgumentException("cannot encode certificate " + cert.getSubjectX500Principal(), e);
            }
        }
        return b.toString();
    }

    static String encodePrivateKey(PrivateKey key) {
        byte[] pkcs8 = key.getEncoded();
        if (pkcs8 == null || !"PKCS#8".equals(key.getFormat())) {
            throw new IllegalArgumentException("private key is not exportable as PKCS#8 (format: " + key.getFormat() + ")");
        }
        return block("PRIVATE KEY", pkcs8);
    }

    /**
     * Replaces {@code file} with {@code text}, creating parent directories. With
     * {@code ownerOnly}, the file is created rw------- (where the file system is POSIX) before any
     * byte is written, so the key is never readable by others, not even briefly.
     */
    static void write(Path file, String text, boolean ownerOnly) throws IOException {
        Path absolute = file.toAbsolutePath();
        Path dir = absolute.getParent();
        Files.createDirectories(dir);
        boolean posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
        Path tmp = posix
                ? Files.createTempFile(dir, "." + absolute.getFileName(), ".tmp",
                        PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                : Files.createTempFile(dir, "." + absolute.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.US_ASCII);
            if (posix && !ownerOnly) {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            }
            try {
                Files.move(tmp, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static String block(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
