package dev.toolgate.credential;

import java.time.Duration;

/** Produces one route's credential header value for a call. Implementations are immutable and thread-safe. */
sealed interface Injector permits Injector.Static, Injector.TaskJwt {

    /** Lower-case name of the header the credential goes in. */
    String header();

    /** The header value for a call of {@code task}. */
    String value(TaskClaims task) throws CredentialException;

    /** A fixed secret, read once when the routes were loaded. */
    record Static(String header, String value) implements Injector {
        @Override
        public String value(TaskClaims task) {
            return value;
        }

        @Override
        public String toString() {
            return "Static[header=" + header + ", value=<redacted>]";
        }
    }

    /** A JWT minted per task for {@code audience}. */
    record TaskJwt(String route, String header, String audience, Duration ttl, TaskJwts jwts) implements Injector {
        @Override
        public String value(TaskClaims task) throws CredentialException {
            return jwts.bearer(route, audience, ttl, task);
        }
    }
}
