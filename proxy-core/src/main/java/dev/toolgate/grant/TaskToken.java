package dev.toolgate.grant;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Task tokens: {@code tg1.} followed by 256 random bits in base64url without padding (47 characters). The token is
 * handed to the agent once; the sidecar keeps only its SHA-256 (hex), so a leaked journal or heap dump holds no
 * usable token. Stateless and thread-safe.
 */
public final class TaskToken {
    /** The header every call carries its task token in. */
    public static final String HEADER = "toolgate-task";

    static final String PREFIX = "tg1.";
    private static final int RANDOM_CHARS = 43;
    static final int LENGTH = PREFIX.length() + RANDOM_CHARS;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(TaskToken::sha256);
    private static final HexFormat HEX = HexFormat.of();
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
     * prefix, length or alphabet): such a value is never looked up.
     */
    public static String hash(CharSequence token) {
        if (token == null || token.length() != LENGTH) {
            return null;
        }
        byte[] ascii = new byte[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            char c = token.charAt(i);
            if (i < PREFIX.length() ? c != PREFIX.charAt(i) : !base64url(c)) {
                return null;
            }
            ascii[i] = (byte) c;
        }
        // 256 bits fill 42 characters and 4 bits of the 43rd, whose last 2 bits are zero: one token, one spelling.
        if (ALPHABET.indexOf(token.charAt(LENGTH - 1)) % 4 != 0) {
            return null;
        }
        return HEX.formatHex(SHA256.get().digest(ascii));
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
