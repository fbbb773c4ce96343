package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * An X.509-SVID: the certificate chain (leaf first, then intermediates; the root belongs in the
 * trust bundle), its private key, and the SPIFFE ID carried by the leaf.
 *
 * <p>Construction checks that the leaf holds exactly one valid SPIFFE ID with a path and that the
 * key belongs to the leaf; it does not check the chain against a trust bundle (peers do that).
 * Immutable and thread-safe. {@link #toString()} never shows the key.
 */
public final class Svid {

    private final SpiffeId id;
    private final List<X509Certificate> chain;
    private final PrivateKey key;

    private Svid(SpiffeId id, List<X509Certificate> chain, PrivateKey key) {
        this.id = id;
        this.chain = chain;
        this.key = key;
    }

    /**
     * Creates an SVID and derives its ID with {@link SpiffeId#fromCertificate}.
     *
     * @param chain leaf first; copied
     * @param key the leaf's private key
     * @throws NullPointerException if an argument or an element is null
     * @throws IllegalArgumentException if the chain is empty, the leaf is not a leaf SVID, or the
     *     key does not belong to the leaf
     */
    public static Svid of(List<X509Certificate> chain, PrivateKey key) {
        try {
            return create(chain, key);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Reads an SVID from PEM files: the chain file holds the leaf and then any intermediates; the
     * key file holds an unencrypted PKCS#8 ({@code PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}) key.
     *
     * @throws IOException if a file cannot be read or is not PEM
     * @throws GeneralSecurityException if a file holds no certificate or key, or the result is not a
     *     valid SVID (the message names the file)
     */
    public static Svid load(Path chainPem, Path keyPem) throws IOException, GeneralSecurityException {
        requireNonNull(chainPem, "chainPem");
        requireNonNull(keyPem, "keyPem");
        List<X509Certificate> chain = Pem.readCertificates(chainPem);
        PrivateKey key = Pem.readPrivateKey(keyPem);
        try {
            return create(chain, key);
        } catch (CertificateException e) {
            throw new CertificateException(chainPem + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new GeneralSecurityException(chainPem + " and " + keyPem + ": " + e.getMessage(), e);
        }
    }

    private static Svid create(List<X509Certificate> chain, PrivateKey key) throws GeneralSecurityException {
        List<X509Certificate> copy = List.copyOf(requireNonNull(chain, "chain"));
        requireNonNull(key, "key");
        if (copy.isEmpty()) {
            throw new CertificateException("SVID chain is empty (expected: leaf first)");
        }
        SpiffeId id = SpiffeId.fromCertificate(copy.get(0));
        Keys.checkMatches(key, copy.get(0));
        return new Svid(id, copy, key);
    }

    /**
     * Writes the chain as PEM and the key as PKCS#8 PEM, each by an atomic replace, creating parent
     * directories. The key file is created owner-only (rw-------) where the file system supports
     * POSIX permissions.
     *
     * @throws IOException if a file cannot be written
     */
    public void writeTo(Path chainPem, Path keyPem) throws IOException {
        requireNonNull(chainPem, "chainPem");
        requireNonNull(keyPem, "keyPem");
        // Key first: a reader that sees the new chain must also find its key.
        Pem.write(keyPem, Pem.encodePrivateKey(key), true);
        Pem.write(chainPem, Pem.encodeCertificates(chain), false);
    }

    /** The SPIFFE ID of the leaf. */
    public SpiffeId id() {
        return id;
    }

    /** The leaf certificate ({@code chain().get(0)}). */
    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** The chain, leaf first; unmodifiable. */
    public List<X509Certificate> chain() {
        return chain;
    }

    /** The private key of the leaf. Never log it. */
    public PrivateKey key() {
        return key;
    }

    @Override
    public String toString() {
        return "Svid{id=" + id + ", notAfter=" + leaf().getNotAfter().toInstant() + ", chain=" + chain.size() + "}";
    }
}
