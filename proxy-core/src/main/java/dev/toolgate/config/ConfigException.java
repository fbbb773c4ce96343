package dev.toolgate.config;

/**
 * A configuration file that cannot be used. The message names the file, the path inside it and what was
 * expected, e.g. {@code config/routes/tools.yaml: routes[1].upstream.url: "ftp://x" (expected: http:// or https://)}.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
