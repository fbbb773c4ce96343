package dev.toolgate.credential;

import dev.toolgate.config.CredentialConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Reads a static credential's secret from its file or environment variable and checks it can travel in a header.
 * Error messages name the route and where the secret was looked for, never the secret.
 */
final class StaticSecrets {
    /** A secret is a key or a token, not a document; a bigger file is a wrong path. */
    static final int MAX_BYTES = 64 * 1024;

    private StaticSecrets() {}

    /**
     * The secret of {@code route}'s static credential.
     *
     * @throws IllegalArgumentException if it is missing, empty, too big, or holds a byte that is not printable
     *                                  ASCII (CR, LF and other control characters included)
     */
    static String read(String route, CredentialConfig c, Function<String, String> env) {
        String where;
        String secret;
        if (c.file() != null) {
            where = "credential.file: " + c.file();
            secret = stripOneNewline(readFile(route, where, c.file()));
        } else {
            where = "credential.env: " + c.env();
            secret = env.apply(c.env());
            if (secret == null) {
                throw new IllegalArgumentException(
                        "route " + route + ": " + where + " is not set (expected: the variable holding the secret)");
            }
        }
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("route " + route + ": " + where + " is empty (expected: the secret)");
        }
        for (int i = 0; i < secret.length(); i++) {
            char ch = secret.charAt(i);
            if (ch < 0x20 || ch > 0x7e) {
                throw new IllegalArgumentException("route " + route + ": " + where + ": the secret holds "
                        + (ch < 0x20 || ch == 0x7f ? "a control character" : "a non-ASCII character")
                        + " at index " + i + " (expected: printable ASCII on one line)");
            }
        }
        return secret;
    }

    private static String readFile(String route, String where, Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(MAX_BYTES + 1);
            if (bytes.length > MAX_BYTES) {
                throw new IllegalArgumentException("route " + route + ": " + where
                        + " is larger than " + MAX_BYTES + " bytes (expected: a file holding only the secret)");
            }
            // ISO-8859-1 maps every byte to one char, so the printable-ASCII check sees each byte as it is.
            return new String(bytes, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new IllegalArgumentException("route " + route + ": " + where + ": cannot read ("
                    + e.getClass().getSimpleName() + ") (expected: a readable file holding the secret)", e);
        }
    }

    private static String stripOneNewline(String s) {
        if (s.endsWith("\r\n")) {
            return s.substring(0, s.length() - 2);
        }
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }
}
