package dev.toolgate.credential;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.toolgate.config.CredentialConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Task JWTs: their claims, signature, reuse window, expiry cap and revocation when the task ends. */
class TaskJwtTest {
    static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
    static final String AGENT = "spiffe://toolgate.dev/agent/reporter";

    final MutableClock clock = new MutableClock(T0);
    final SigningKeys keys = SigningKeys.generate();

    Credentials credentials(Duration ttl) {
        return Credentials.create(List.of(
                        StaticCredentialTest.route("crm", CredentialConfig.taskJwt(null, "https://crm.example", ttl)),
                        StaticCredentialTest.route("hr", CredentialConfig.taskJwt("x-task-jwt", "spiffe://toolgate.dev/tools/hr", ttl))),
                keys, clock, name -> null);
    }

    static TaskClaims task(String id, Instant expiresAt) {
        return new TaskClaims(id, AGENT, "summarize Q3 accounts", expiresAt);
    }

    /** The JWT the credential set for {@code route}, checked to be the only header set. */
    static String jwt(Credentials c, String route, TaskClaims task) throws CredentialException {
        List<String> set = new ArrayList<>();
        c.apply(route, task, (name, value) -> {
            assertThat(name.toString()).isEqualTo(c.headerNames(route).iterator().next());
            set.add(value.toString());
        });
        assertThat(set).hasSize(1);
        assertThat(set.get(0)).startsWith("Bearer ");
        return set.get(0).substring("Bearer ".length());
    }

    /** Parses {@code jwt} and checks its signature against the published JWKS. */
    static SignedJWT verified(SigningKeys keys, String jwt) throws Exception {
        SignedJWT parsed = SignedJWT.parse(jwt);
        ECKey key = (ECKey) JWKSet.parse(keys.jwksJson()).getKeyByKeyId(parsed.getHeader().getKeyID());
        assertThat(key).as("published key for kid %s", parsed.getHeader().getKeyID()).isNotNull();
        assertThat(key.isPrivate()).isFalse();
        assertThat(parsed.verify(new ECDSAVerifier(key))).isTrue();
        return parsed;
    }

    @Test
    void aTaskJwtCarriesTheTaskAndIsSignedByThePublishedKey() throws Exception {
        Credentials c = credentials(null);
        SignedJWT jwt = verified(keys, jwt(c, "crm", task("t-1", T0.plus(Duration.ofHours(1)))));

        assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
        assertThat(jwt.getHeader().getType()).isEqualTo(JOSEObjectType.JWT);
        JWTClaimsSet claims = jwt.getJWTClaimsSet();
        assertThat(claims.getIssuer()).isEqualTo("toolgate");
        assertThat(claims.getSubject()).isEqualTo(AGENT);
        assertThat(claims.getAudience()).containsExactly("https://crm.example");
        assertThat(claims.getStringClaim("task_id")).isEqualTo("t-1");
        assertThat(claims.getStringClaim("purpose")).isEqualTo("summarize Q3 accounts");
        assertThat(claims.getIssueTime()).isEqualTo(Date.from(T0));
        assertThat(claims.getExpirationTime()).isEqualTo(Date.from(T0.plus(Duration.ofMinutes(5))));
        assertThat(claims.getJWTID()).hasSizeGreaterThanOrEqualTo(22);
        assertThat(c.headerNames("crm")).containsExactly("authorization");

        SignedJWT hr = verified(keys, jwt(c, "hr", task("t-1", T0.plus(Duration.ofHours(1)))));
        assertThat(hr.getJWTClaimsSet().getAudience()).containsExactly("spiffe://toolgate.dev/tools/hr");
        assertThat(c.headerNames("hr")).containsExactly("x-task-jwt");
    }

    @Test
    void reloadedRoutesKeepTheCacheAndTheEndedTasksButAChangedAudienceGetsANewJwt() throws Exception {
        Credentials c = credentials(Duration.ofMinutes(5));
        TaskClaims live = task("t-1", T0.plus(Duration.ofHours(1)));
        TaskClaims ended = task("t-2", T0.plus(Duration.ofHours(1)));
        String crm = jwt(c, "crm", live);
        String hr = jwt(c, "hr", live);
        c.taskEnded("t-2");

        Credentials reloaded = c.withRoutes(List.of(
                StaticCredentialTest.route("crm", CredentialConfig.taskJwt(null, "https://crm.example", null)),
                StaticCredentialTest.route("hr", CredentialConfig.taskJwt("x-task-jwt", "https://hr.example", null))),
                name -> null);
        assertThat(jwt(reloaded, "crm", live)).as("same route, same audience: the cached JWT").isEqualTo(crm);
        String newHr = jwt(reloaded, "hr", live);
        assertThat(newHr).isNotEqualTo(hr);
        assertThat(verified(keys, newHr).getJWTClaimsSet().getAudience()).containsExactly("https://hr.example");
        assertThatThrownBy(() -> jwt(reloaded, "crm", ended)).isInstanceOf(CredentialException.class)
                .hasMessageContaining("has ended");
        assertThat(jwt(c, "hr", live)).as("the old set still answers calls that started with it").isEqualTo(hr);
    }

    @Test
    void aJwtIsReusedUntilLessThanAThirdOfItsLifetimeIsLeft() throws Exception {
        Credentials c = credentials(Duration.ofMinutes(5));
        TaskClaims task = task("t-1", T0.plus(Duration.ofHours(1)));
        String first = jwt(c, "crm", task);
        clock.advance(Duration.ofSeconds(199)); // 101 s of 300 left
        assertThat(jwt(c, "crm", task)).isEqualTo(first);
        clock.advance(Duration.ofSeconds(2)); // 99 s left: under a third
        String second = jwt(c, "crm", task);
        assertThat(second).isNotEqualTo(first);
        assertThat(verified(keys, second).getJWTClaimsSet().getExpirationTime())
                .isEqualTo(Date.from(T0.plusSeconds(201 + 300)));
        assertThat(jwt(c, "crm", task)).isEqualTo(second);
    }

    @Test
    void aShortJwtIsReplacedWhenLessThanThirtySecondsAreLeft() throws Exception {
        Credentials c = credentials(Duration.ofMinutes(1));
        TaskClaims task = task("t-1", T0.plus(Duration.ofHours(1)));
        String first = jwt(c, "crm", task);
        clock.advance(Duration.ofSeconds(30)); // 30 s left: still enough
        assertThat(jwt(c, "crm", task)).isEqualTo(first);
        clock.advance(Duration.ofSeconds(1));
        assertThat(jwt(c, "crm", task)).isNotEqualTo(first);
    }

    @Test
    void jwtsAreCachedPerTaskAndRoute() throws Exception {
        Credentials c = credentials(null);
        Instant exp = T0.plus(Duration.ofHours(1));
        String a = jwt(c, "crm", task("t-1", exp));
        assertThat(jwt(c, "crm", task("t-2", exp))).isNotEqualTo(a);
        assertThat(jwt(c, "hr", task("t-1", exp))).isNotEqualTo(a);
        assertThat(jwt(c, "crm", task("t-1", exp))).isEqualTo(a);
    }

    @Test
    void expiryIsCappedByTheTasksExpiry() throws Exception {
        Credentials c = credentials(Duration.ofMinutes(5));
        Instant taskExpiry = T0.plus(Duration.ofSeconds(90)).plusMillis(700);
        JWTClaimsSet claims = verified(keys, jwt(c, "crm", task("t-1", taskExpiry))).getJWTClaimsSet();
        assertThat(claims.getExpirationTime()).isEqualTo(Date.from(T0.plusSeconds(90)));
        assertThat(claims.getExpirationTime().toInstant()).isBeforeOrEqualTo(taskExpiry);
    }

    @Test
    void anExpiredTaskGetsNoJwt() {
        Credentials c = credentials(null);
        List<CharSequence> set = new ArrayList<>();
        assertThatThrownBy(() -> c.apply("crm", task("t-1", T0), (n, v) -> set.add(v)))
                .isInstanceOf(CredentialException.class)
                .hasMessageContaining("route crm")
                .hasMessageContaining("task t-1 expired");
        assertThatThrownBy(() -> c.apply("crm", task("t-1", T0.plusMillis(400)), (n, v) -> set.add(v)))
                .isInstanceOf(CredentialException.class)
                .hasMessageContaining("too soon");
        assertThat(set).isEmpty();
    }

    @Test
    void aCachedJwtIsNotSentOnceItsTaskExpired() throws Exception {
        Credentials c = credentials(Duration.ofMinutes(5));
        TaskClaims task = task("t-1", T0.plus(Duration.ofMinutes(2)));
        jwt(c, "crm", task);
        clock.advance(Duration.ofMinutes(2));
        assertThatThrownBy(() -> jwt(c, "crm", task)).isInstanceOf(CredentialException.class);
    }

    @Test
    void afterTheTaskEndsNoJwtIsSentOrMintedForIt() throws Exception {
        Credentials c = credentials(null);
        Instant exp = T0.plus(Duration.ofHours(1));
        String cached = jwt(c, "crm", task("t-1", exp));
        String other = jwt(c, "crm", task("t-2", exp));

        c.taskEnded("t-1");

        List<CharSequence> set = new ArrayList<>();
        assertThatThrownBy(() -> c.apply("crm", task("t-1", exp), (n, v) -> set.add(v)))
                .isInstanceOf(CredentialException.class)
                .hasMessageContaining("task t-1 has ended");
        assertThatThrownBy(() -> c.apply("hr", task("t-1", exp), (n, v) -> set.add(v)))
                .isInstanceOf(CredentialException.class);
        assertThat(jwt(c, "crm", task("t-2", exp))).as("other tasks keep their JWT").isEqualTo(other);
        clock.advance(Duration.ofMinutes(59)); // long after the cached JWT would have been replaced
        assertThatThrownBy(() -> c.apply("crm", task("t-1", exp), (n, v) -> set.add(v)))
                .isInstanceOf(CredentialException.class);
        assertThat(set).as("neither the cached %s nor a new JWT", cached).isEmpty();
    }

    @Test
    void aTaskEndedBeforeItsFirstCallNeverGetsAJwt() {
        Credentials c = credentials(null);
        c.taskEnded("t-9");
        clock.advance(Duration.ofHours(23));
        assertThatThrownBy(() -> c.apply("crm", task("t-9", T0.plus(Duration.ofDays(2))), (n, v) -> { }))
                .isInstanceOf(CredentialException.class).hasMessageContaining("has ended");
        clock.advance(Duration.ofHours(2)); // past the default memory, but the call above told the task's expiry
        assertThatThrownBy(() -> c.apply("crm", task("t-9", T0.plus(Duration.ofDays(2))), (n, v) -> { }))
                .isInstanceOf(CredentialException.class).hasMessageContaining("has ended");
    }

    @Test
    void afterRotationOldJwtsStillVerifyAndNewOnesUseTheNewKey() throws Exception {
        Credentials c = credentials(Duration.ofMinutes(5));
        TaskClaims task = task("t-1", T0.plus(Duration.ofHours(1)));
        String old = jwt(c, "crm", task);
        String oldKid = SignedJWT.parse(old).getHeader().getKeyID();

        keys.rotate();

        assertThat(jwt(c, "crm", task)).as("the cached JWT is still good").isEqualTo(old);
        verified(keys, old);
        clock.advance(Duration.ofMinutes(4));
        String fresh = jwt(c, "crm", task);
        assertThat(SignedJWT.parse(fresh).getHeader().getKeyID()).isNotEqualTo(oldKid);
        verified(keys, fresh);
        assertThat(JWKSet.parse(keys.jwksJson()).getKeys()).hasSize(2);
        keys.rotate();
        assertThat(JWKSet.parse(keys.jwksJson()).getKeys()).hasSize(2)
                .noneMatch(k -> k.getKeyID().equals(oldKid));
    }
}
