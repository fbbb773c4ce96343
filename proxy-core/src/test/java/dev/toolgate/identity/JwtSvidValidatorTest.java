package dev.toolgate.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.toolgate.testing.TestJwts;
import dev.toolgate.testing.TestJwts.Key;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The JWT-SVID rules without sockets, each refusal with its reason, the clock fixed. */
class JwtSvidValidatorTest {
    private static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
    private static final String AUD = "spiffe://example.org/toolgate";
    private static final String AGENT = "spiffe://example.org/agents/a1";
    private static final Instant EXP = NOW.plusSeconds(300);

    private static Key es256;
    private static Key partner;
    private static Map<String, Key> byAlg;
    private static JwtSvidValidator validator;

    @BeforeAll
    static void keys() throws Exception {
        es256 = TestJwts.ec256("k-es256");
        partner = TestJwts.ec256("k-partner");
        byAlg = new HashMap<>();
        for (JWSAlgorithm alg : new JWSAlgorithm[] {JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512}) {
            byAlg.put(alg.getName(), TestJwts.ec("k-" + alg.getName(), alg));
        }
        for (JWSAlgorithm alg : new JWSAlgorithm[] {JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
                JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512}) {
            byAlg.put(alg.getName(), TestJwts.rsa("k-" + alg.getName(), alg));
        }
        Map<String, java.security.PublicKey> own = new HashMap<>(es256.bundle());
        byAlg.values().forEach(k -> own.put(k.kid(), k.publicKey()));
        validator = validator(NOW, Duration.ofSeconds(10),
                JwtBundles.of(Map.of("example.org", own, "partner.org", partner.bundle())));
    }

    private static JwtSvidValidator validator(Instant now, Duration leeway, JwtBundles bundles) {
        return JwtSvidValidator.of(bundles, AUD, leeway, Clock.fixed(now, ZoneOffset.UTC));
    }

    private static JWTClaimsSet claims() {
        return TestJwts.claims(AGENT, AUD, EXP).build();
    }

    private static void refused(String token, String reason) {
        assertThatThrownBy(() -> validator.validate(token))
                .isInstanceOf(InvalidJwtSvidException.class)
                .hasMessageContaining(reason)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(token));
    }

    @ParameterizedTest
    @ValueSource(strings = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"})
    void acceptsEveryAllowedAlgorithm(String alg) throws Exception {
        String token = TestJwts.sign(byAlg.get(alg), claims());
        assertThat(validator.validate(token)).isEqualTo(SpiffeId.parse(AGENT));
    }

    @Test
    void acceptsTypJoseOrNoTypAndAnAudienceList() throws Exception {
        JWTClaimsSet many = TestJwts.claims(AGENT, null, EXP).audience(java.util.List.of("other", AUD)).build();
        assertThat(validator.validate(TestJwts.sign(es256, many))).hasToString(AGENT);
        assertThat(validator.validate(TestJwts.sign(es256,
                TestJwts.header(es256).type(JOSEObjectType.JOSE).build(), claims()))).hasToString(AGENT);
        assertThat(validator.validate(TestJwts.sign(es256, TestJwts.header(es256).type(null).build(), claims())))
                .hasToString(AGENT);
    }

    @Test
    void refusesAlgNone() {
        refused(TestJwts.none(es256.kid(), claims()), "alg \"none\" not allowed");
    }

    @Test
    void refusesHs256SignedWithThePublicKeyAsSecret() throws Exception {
        refused(TestJwts.hs256WithPublicKey(es256, claims()), "alg \"HS256\" not allowed");
        refused(TestJwts.hs256WithPublicKey(byAlg.get("RS256"), claims()), "alg \"HS256\" not allowed");
    }

    @Test
    void refusesAWrongOrMissingAudience() throws Exception {
        refused(TestJwts.sign(es256, TestJwts.claims(AGENT, "spiffe://example.org/other", EXP).build()),
                "does not contain \"" + AUD + "\"");
        refused(TestJwts.sign(es256, TestJwts.claims(AGENT, null, EXP).build()), "no aud claim");
    }

    @Test
    void refusesAnExpiredTokenBeyondTheLeewayOnly() throws Exception {
        String token = TestJwts.sign(es256, claims());
        assertThat(validator(EXP.plusSeconds(10), Duration.ofSeconds(10), bundles()).validate(token))
                .hasToString(AGENT);
        assertThatThrownBy(() -> validator(EXP.plusSeconds(11), Duration.ofSeconds(10), bundles()).validate(token))
                .isInstanceOf(InvalidJwtSvidException.class).hasMessageContaining("expired at " + EXP);
    }

    @Test
    void refusesATokenNotYetValid() throws Exception {
        String token = TestJwts.sign(es256, TestJwts.claims(AGENT, AUD, EXP).notBeforeTime(
                Date.from(NOW.plusSeconds(60))).build());
        refused(token, "not valid before " + NOW.plusSeconds(60));
        assertThat(validator(NOW.plusSeconds(55), Duration.ofSeconds(10), bundles()).validate(token))
                .hasToString(AGENT);
    }

    @Test
    void refusesAMissingExp() throws Exception {
        refused(TestJwts.sign(es256, TestJwts.claims(AGENT, AUD, null).build()), "no exp claim");
    }

    @Test
    void refusesAnUnknownTrustDomain() throws Exception {
        refused(TestJwts.sign(es256, TestJwts.claims("spiffe://elsewhere.org/agents/a1", AUD, EXP).build()),
                "no JWT bundle for trust domain \"elsewhere.org\"");
    }

    @Test
    void refusesAKeyOfAnotherTrustDomainEvenIfTrusted() throws Exception {
        // partner.org's key is trusted for partner.org only: it cannot vouch for an example.org subject.
        refused(TestJwts.sign(partner, claims()), "kid \"k-partner\" is not in the JWT bundle of \"example.org\"");
        assertThat(validator.validate(TestJwts.sign(partner,
                TestJwts.claims("spiffe://partner.org/agents/p", AUD, EXP).build()))).hasToString(
                "spiffe://partner.org/agents/p");
    }

    @Test
    void refusesAnUnknownOrMissingKid() throws Exception {
        refused(TestJwts.sign(es256, TestJwts.header(es256).keyID("nope").build(), claims()),
                "kid \"nope\" is not in the JWT bundle");
        refused(TestJwts.sign(es256, TestJwts.header(es256).keyID(null).build(), claims()), "no kid header");
    }

    @Test
    void refusesATamperedToken() throws Exception {
        String token = TestJwts.sign(es256, claims());
        JWTClaimsSet longer = TestJwts.claims(AGENT, AUD, EXP.plusSeconds(86_400)).build();
        refused(TestJwts.withPayload(token, longer), "signature does not verify");
        String[] parts = token.split("\\.");
        String otherSig = TestJwts.sign(es256, TestJwts.claims(AGENT, AUD, EXP.plusSeconds(1)).build()).split("\\.")[2];
        refused(parts[0] + "." + parts[1] + "." + otherSig, "signature does not verify");
    }

    @Test
    void refusesASubjectThatIsNoWorkloadSpiffeId() throws Exception {
        refused(TestJwts.sign(es256, TestJwts.claims("agent-a1", AUD, EXP).build()), "sub is not a SPIFFE ID");
        refused(TestJwts.sign(es256, TestJwts.claims("https://example.org/agents/a1", AUD, EXP).build()),
                "sub is not a SPIFFE ID");
        refused(TestJwts.sign(es256, TestJwts.claims("spiffe://example.org", AUD, EXP).build()), "has no path");
        refused(TestJwts.sign(es256, TestJwts.claims(null, AUD, EXP).build()), "no sub claim");
    }

    @Test
    void refusesATypOtherThanJwtOrJoseAndCriticalHeaders() throws Exception {
        refused(TestJwts.sign(es256, TestJwts.header(es256).type(new JOSEObjectType("at+jwt")).build(), claims()),
                "typ \"at+jwt\"");
        refused(TestJwts.sign(es256, TestJwts.header(es256).criticalParams(java.util.Set.of("exp")).build(),
                claims()), "crit header");
    }

    @Test
    void refusesAKeyOfTheWrongTypeOrCurveForTheAlgorithm() throws Exception {
        // An ES384 token whose kid names the P-256 key, and an RS256 token whose kid names an EC key.
        Key es384 = byAlg.get("ES384");
        refused(TestJwts.sign(es384, TestJwts.header(es384).keyID(es256.kid()).build(), claims()),
                "does not match the curve");
        Key rs = byAlg.get("RS256");
        refused(TestJwts.sign(rs, TestJwts.header(rs).keyID(es256.kid()).build(), claims()), "needs an RSA key");
    }

    @Test
    void refusesWhatIsNotACompactJws() {
        refused("not-a-token", "not a JWS in compact serialization");
        refused("a.b.c.d.e", "not a JWS in compact serialization");
        refused("!!!.e30.", "malformed JOSE header");
        refused("x".repeat(JwtSvidValidator.MAX_TOKEN_CHARS + 1), "characters (expected: <= ");
    }

    @Test
    void refusesEverythingWithoutBundles() throws Exception {
        assertThatThrownBy(() -> validator(NOW, Duration.ZERO, JwtBundles.none())
                .validate(TestJwts.sign(es256, claims())))
                .hasMessageContaining("no JWT bundle for trust domain \"example.org\"");
    }

    @Test
    void refusesABadConfiguration() {
        assertThatThrownBy(() -> JwtSvidValidator.of(bundles(), " ", Duration.ZERO, Clock.systemUTC()))
                .hasMessageContaining("audience");
        assertThatThrownBy(() -> JwtSvidValidator.of(bundles(), AUD, Duration.ofMinutes(6), Clock.systemUTC()))
                .hasMessageContaining("leeway: PT6M (expected: 0s..5m)");
    }

    @Test
    void readsJwksDocumentsAndTheDevCaPublishesOne(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        DevCa ca = DevCa.openOrCreate(dir, "example.org");
        java.nio.file.Path jwks = dir.resolve("jwks.json");
        java.nio.file.Files.writeString(jwks, ca.jwks());
        JwtBundles fromFile = JwtBundles.readJwks(Map.of("example.org", jwks));
        String token = ca.mintJwtSvid(SpiffeId.parse(AGENT), AUD, Duration.ofMinutes(5));
        JwtSvidValidator v = JwtSvidValidator.of(fromFile, AUD, Duration.ZERO, Clock.systemUTC());
        assertThat(v.validate(token)).hasToString(AGENT);
        assertThat(JwtSvidValidator.of(ca.jwtBundles(), AUD, Duration.ZERO, Clock.systemUTC()).validate(token))
                .hasToString(AGENT);
        // The key survives reopening the state directory: tokens minted before still verify.
        DevCa reopened = DevCa.openOrCreate(dir, "example.org");
        assertThat(JwtSvidValidator.of(reopened.jwtBundles(), AUD, Duration.ZERO, Clock.systemUTC()).validate(token))
                .hasToString(AGENT);
        java.nio.file.Files.writeString(jwks, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"h\"}]}");
        assertThatThrownBy(() -> JwtBundles.readJwks(Map.of("example.org", jwks)))
                .hasMessageContaining("no EC or RSA key with a kid");
    }

    private static JwtBundles bundles() {
        return JwtBundles.of(Map.of("example.org", es256.bundle()));
    }
}
