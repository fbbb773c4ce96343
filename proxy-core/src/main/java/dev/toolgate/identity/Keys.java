package dev.toolgate.identity;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.cert.X509Certificate;

/** Checks that a private key belongs to a certificate. */
final class Keys {

    private static final byte[] PROBE = "toolgate key/certificate match".getBytes(StandardCharsets.US_ASCII);

    private Keys() {}

    /**
     * Signs a probe with {@code key} and verifies it with the certificate's public key: a mismatch
     * would otherwise surface only as an opaque handshake failure at the peer.
     *
     * @throws InvalidKeyException if the key does not belong to the certificate or its type is unsupported
     */
    static void checkMatches(PrivateKey key, X509Certificate cert) throws GeneralSecurityException {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new InvalidKeyException("unsupported private key algorithm " + key.getAlgorithm()
                    + " (expected: EC, RSA or Ed25519)");
        };
        boolean ok;
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(PROBE);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(PROBE);
            ok = verifier.verify(signature);
        } catch (InvalidKeyException | SignatureException e) {
            ok = false;
        }
        if (!ok) {
            throw new InvalidKeyException("private key does not match the public key of certificate "
                    + cert.getSubjectX500Principal());
        }
    }
}
