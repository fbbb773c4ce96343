package dev.toolgate.grant;

import java.util.HexFormat;

/**
 * The SHA-256 of a task token as a lookup key: the 32 digest bytes as four longs (big-endian), so a call's lookup
 * allocates one small object instead of a hex string. Never holds the token itself. The journal and {@link Task}
 * keep the digest in hex ({@link #ofHex} and {@link #hex} convert at that boundary).
 *
 * <p>Equality is a plain comparison: the key is the hash of a secret, not the secret, and a lookup by hash needs no
 * constant-time compare. Immutable.
 */
record TokenKey(long w0, long w1, long w2, long w3) {
    private static final HexFormat HEX = HexFormat.of();

    /** The key of a 32-byte digest starting at {@code off}. */
    static TokenKey of(byte[] digest, int off) {
        return new TokenKey(word(digest, off), word(digest, off + 8), word(digest, off + 16), word(digest, off + 24));
    }

    /**
     * The key of a digest written as 64 hex digits (as {@link TaskToken#hash} and the journal write it).
     *
     * @throws IllegalArgumentException if {@code hex} is not 64 hex digits
     */
    static TokenKey ofHex(String hex) {
        if (hex.length() != 64) {
            throw new IllegalArgumentException("token hash: " + hex.length() + " characters (expected: 64 hex digits)");
        }
        return of(HEX.parseHex(hex), 0);
    }

    /** The digest in lowercase hex, as {@link TaskToken#hash} returns it. */
    String hex() {
        return HEX.toHexDigits(w0) + HEX.toHexDigits(w1) + HEX.toHexDigits(w2) + HEX.toHexDigits(w3);
    }

    @Override
    public String toString() {
        return "TokenKey[" + hex() + "]";
    }

    private static long word(byte[] b, int off) {
        long w = 0;
        for (int i = 0; i < 8; i++) {
            w = w << 8 | (b[off + i] & 0xff);
        }
        return w;
    }
}
