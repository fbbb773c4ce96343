package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import dev.toolgate.identity.JwtSvidValidator;
import java.time.Duration;

/**
 * Whether the agent listener also accepts JWT-SVIDs ({@code Authorization: Bearer <JWT-SVID>}) from agents that
 * cannot present a client certificate. Off by default; when on, the listener still does TLS but a client
 * certificate becomes optional, and a request without one must carry a valid JWT-SVID (each request its own).
 *
 * @param enabled  {@code true} to accept JWT-SVIDs (default {@code false})
 * @param audience the audience a token's {@code aud} must contain (required when enabled), e.g.
 *                 {@code spiffe://example.org/toolgate} or {@code toolgate}
 * @param leeway   clock skew allowed on {@code exp} and {@code nbf} (default 10s, at most 5m)
 */
public record JwtSvidConfig(Boolean enabled, String audience, Duration leeway) {
    public static final Duration DEFAULT_LEEWAY = Duration.ofSeconds(10);

    public JwtSvidConfig {
        enabled = requireNonNullElse(enabled, false);
        leeway = requireNonNullElse(leeway, DEFAULT_LEEWAY);
        if (leeway.isNegative() || leeway.compareTo(JwtSvidValidator.MAX_LEEWAY) > 0) {
            throw new IllegalArgumentException("leeway: " + leeway + " (expected: 0s..5m)");
        }
        if (enabled && (audience == null || audience.isBlank())) {
            throw new IllegalArgumentException(
                    "audience: required when enabled (expected: the audience agents request JWT-SVIDs for)");
        }
    }

    /** Off. */
    public static JwtSvidConfig disabled() {
        return new JwtSvidConfig(false, null, null);
    }

    /** On, for {@code audience}, with the default leeway. */
    public static JwtSvidConfig enabled(String audience) {
        return new JwtSvidConfig(true, audience, null);
    }
}
