package dev.toolgate.grant;

import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;

/**
 * Task tokens: {@code tg1.} followed by 256 random bits in base64url without padding (47 characters). The token is
 * handed to the agent once; the sidecar keeps only its SHA-256 (hex in the journal, a {@link TokenKey} in memory),
 * so a leaked journal or heap dump holds no usable token. Stateless and thread-safe.
 */
public final class TaskToken {
    /** The header every call carries its task token in. */
    public static final String HEADER = "toolgate-task";

    static final String PREFIX = "tg1.";
    private static final int RANDOM_CHARS = 43;
    static final int LENGTH = PREFIX.length() + RANDOM_CHARS;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ThreadLocal<Digester> DIGESTER = ThreadLocal.withInitial(Digester::new);
    private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    private TaskToken() {}

    /** A new random token. */
    static String mint() {
        byte[] bits = new byte[32];
        RANDOM.nextBytes(bits);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bits);
    }

    /**
     * The hex SHA-256 of a well-formed token, or {@code null} when {@code token} is not shaped like one (wrong
     * prefix, length or alphabet): such a value is never looked up. The form {@link Task#tokenHash} and the journal
     * keep.
     */
    public static String hash(CharSequence token) {
        TokenKey key = key(token);
        return key == null ? null : key.hex();
    }

    /**
     * The SHA-256 of a well-formed token as a lookup key, or {@code null} when it is not shaped like one: the hot
     * path's form of {@link #hash} (digested in a per-thread buffer, which is wiped before returning so the token
     * does not stay on the heap; one 32-byte key allocated).
     */
    static TokenKey key(CharSequence token) {
        if (token == null || token.length() != LENGTH) {
            return null;
        }
        // 256 bits fill 42 characters and 4 bits of the 43rd, whose last 2 bits are zero: one token, one spelling.
        char last = token.charAt(LENGTH - 1);
        if (!base64url(last) || ALPHABET.indexOf(last) % 4 != 0) {
            return null;
        }
        Digester d = DIGESTER.get();
        byte[] ascii = d.ascii;
        try {
            for (int i = 0; i < LENGTH; i++) {
                char c = token.charAt(i);
                if (i < PREFIX.length() ? c != PREFIX.charAt(i) : !base64url(c)) {
                    return null;
                }
                ascii[i] = (byte) c;
            }
            d.sha256.update(ascii, 0, LENGTH);
            d.sha256.digest(d.out, 0, d.out.length);
            return TokenKey.of(d.out, 0);
        } catch (DigestException e) {
            throw new IllegalStateException("SHA-256 into a 32-byte buffer failed", e);
        } finally {
            Arrays.fill(ascii, (byte) 0);
        }
    }

    /** One thread's SHA-256 and its buffers, reused call after call. */
    private static final class Digester {
        final MessageDigest sha256 = sha256();
        final byte[] ascii = new byte[LENGTH];
        final byte[] out = new byte[32];
    }

    private static boolean base64url(char c) {
        return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_';
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
