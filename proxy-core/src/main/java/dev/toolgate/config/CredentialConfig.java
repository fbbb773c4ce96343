package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The credential the sidecar injects into every call forwarded on a route; the agent never holds it.
 *
 * <p>{@code type: static} sends a fixed secret (an API key) read from {@code file} or from the environment
 * variable {@code env} (exactly one) when the route table is built, as {@code prefix + secret}.
 * {@code type: task-jwt} sends {@code Bearer <jwt>}: a JWT the sidecar mints per task for this upstream
 * ({@code aud} = {@code audience}, {@code exp} at most {@code ttl} ahead and never after the task's expiry).
 *
 * <p>Headers the data plane owns (framing, routing, the task token, tracing, hop-by-hop headers, pseudo-headers)
 * cannot carry a credential. Header names are kept lower-case.
 *
 * @param type     {@code static} or {@code task-jwt}
 * @param header   the header that carries the credential; default {@code authorization}
 * @param prefix   static only: text sent before the secret, e.g. {@code "Bearer "}
 * @param file     static only: file holding the secret (one trailing newline is ignored); a relative path is
 *                 resolved against the directory of the route file
 * @param env      static only: environment variable holding the secret
 * @param audience task-jwt only: the JWT's {@code aud}, naming the upstream
 * @param ttl      task-jwt only: the most a JWT lives (default 5m, 1m..24h); the task's expiry caps it further
 */
public record CredentialConfig(
        String type, String header, String prefix, Path file, String env, String audience, Duration ttl) {

    public static final String STATIC = "static";
    public static final String TASK_JWT = "task-jwt";

    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,254}");
    private static final Set<String> RESERVED = Set.of(
            // framing and routing: the data plane writes these itself
            "host", "content-length", "transfer-encoding", "connection",
            // hop-by-hop: dropped before forwarding, so a credential there would never arrive
            "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
            // the agent's task token and the trace context belong to the agent's side of the call
            "toolgate-task", "traceparent");
    private static final Duration MIN_TTL = Duration.ofMinutes(1);
    private static final Duration MAX_TTL = Duration.ofHours(24);

    public CredentialConfig {
        if (type == null) {
            throw new IllegalArgumentException("type: missing (expected: static or task-jwt)");
        }
        header = header(requireNonNullElse(header, "authorization"));
        switch (type) {
            case STATIC -> {
                onlyFor(STATIC, "audience", audience);
                onlyFor(STATIC, "ttl", ttl);
                if ((file == null) == (env == null)) {
                    throw new IllegalArgumentException(
                            "type static: exactly one of file or env is required (expected: where the secret is)");
                }
                if (env != null && !ENV_NAME.matcher(env).matches()) {
                    throw new IllegalArgumentException("env: " + quote(env)
                            + " (expected: an environment variable name such as WEATHER_API_KEY)");
                }
                if (prefix != null && !printable(prefix)) {
                    throw new IllegalArgumentException("prefix: " + quote(prefix) + " (expected: printable ASCII)");
                }
            }
            case TASK_JWT -> {
                onlyFor(TASK_JWT, "prefix", prefix);
                onlyFor(TASK_JWT, "file", file);
                onlyFor(TASK_JWT, "env", env);
                if (audience == null || audience.isBlank() || !printable(audience)) {
                    throw new IllegalArgumentException("audience: " + quote(audience)
                            + " (expected: the upstream's name, e.g. https://crm.example or a SPIFFE ID)");
                }
                ttl = requireNonNullElse(ttl, Duration.ofMinutes(5));
                if (ttl.compareTo(MIN_TTL) < 0 || ttl.compareTo(MAX_TTL) > 0) {
                    throw new IllegalArgumentException("ttl: " + ttl + " (expected: 1m..24h)");
                }
            }
            default -> throw new IllegalArgumentException("type: " + quote(type) + " (expected: static or task-jwt)");
        }
    }

    /** A static credential read from {@code file}. */
    public static CredentialConfig staticFromFile(String header, String prefix, Path file) {
        return new CredentialConfig(STATIC, header, prefix, file, null, null, null);
    }

    /** A static credential read from the environment variable {@code env}. */
    public static CredentialConfig staticFromEnv(String header, String prefix, String env) {
        return new CredentialConfig(STATIC, header, prefix, null, env, null, null);
    }

    /** A per-task JWT for {@code audience}; {@code header} and {@code ttl} may be null for their defaults. */
    public static CredentialConfig taskJwt(String header, String audience, Duration ttl) {
        return new CredentialConfig(TASK_JWT, header, null, null, null, audience, ttl);
    }

    /** The same setting with a relative {@code file} resolved against {@code base} (the route file's directory). */
    CredentialConfig resolve(Path base) {
        return file == null ? this : new CredentialConfig(type, header, prefix, base.resolve(file), env, audience, ttl);
    }

    private static String header(String name) {
        if (name.startsWith(":")) {
            throw new IllegalArgumentException("header: " + quote(name) + " (expected: not a pseudo-header)");
        }
        if (!TOKEN.matcher(name).matches()) {
            throw new IllegalArgumentException("header: " + quote(name) + " (expected: an HTTP header name)");
        }
        String lower = name.toLowerCase(Locale.ROOT);
        if (RESERVED.contains(lower)) {
            throw new IllegalArgumentException("header: " + quote(name)
                    + " (expected: a header the sidecar does not own; not one of " + String.join(", ",
                    RESERVED.stream().sorted().toList()) + ")");
        }
        return lower;
    }

    private static void onlyFor(String type, String field, Object value) {
        if (value != null) {
            throw new IllegalArgumentException(field + ": set for type " + type
                    + " (expected: " + (type.equals(STATIC) ? "only with type task-jwt" : "only with type static") + ")");
        }
    }

    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    private static String quote(String s) {
        return s == null ? "null" : '"' + s + '"';
    }
}
