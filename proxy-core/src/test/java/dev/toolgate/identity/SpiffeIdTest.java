package dev.toolgate.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.identity.TestCerts.Issued;
import java.security.cert.CertificateException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SpiffeIdTest {

    @ParameterizedTest
    @ValueSource(strings = {
        "spiffe://example.org",
        "spiffe://example.org/agent",
        "spiffe://example.org/ns/prod/sa/agent",
        "spiffe://a-b_c.9/A-Z.a_z-0",
        "spiffe://example.org/...",
        "spiffe://example.org/.hidden",
        "spiffe://example.org/a..b",
        "spiffe://1.2.3.4/x",
    })
    void acceptsValidIds(String id) {
        SpiffeId parsed = SpiffeId.parse(id);

        assertThat(parsed.uri()).isEqualTo(id);
        assertThat(parsed.toString()).isEqualTo(id);
        assertThat(SpiffeId.of(parsed.trustDomain(), parsed.path())).isEqualTo(parsed);
    }

    @Test
    void splitsTrustDomainAndPath() {
        SpiffeId id = SpiffeId.parse("spiffe://example.org/ns/prod");

        assertThat(id.trustDomain()).isEqualTo("example.org");
        assertThat(id.path()).isEqualTo("/ns/prod");
        assertThat(SpiffeId.parse("spiffe://example.org").path()).isEmpty();
    }

    @Test
    void acceptsExactly2048Bytes() {
        String prefix = "spiffe://example.org/";
        String id = prefix + "a".repeat(2048 - prefix.length());

        assertThat(SpiffeId.parse(id).uri()).hasSize(2048);
        assertThatIllegalArgumentException().isThrownBy(() -> SpiffeId.parse(id + "a")).withMessageContaining("too long");
        assertThatIllegalArgumentException().isThrownBy(() -> SpiffeId.of("example.org", "/" + "a".repeat(2048)))
                .withMessageContaining("too long");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
        "''                                | SPIFFE ID is empty",
        "example.org/agent                 | scheme \"\"",
        "http://example.org/agent          | scheme \"http\"",
        "https://example.org/agent         | scheme \"https\"",
        "SPIFFE://example.org/agent        | scheme \"SPIFFE\"",
        "spiffe:/example.org/agent         | scheme \"spiffe\"",
        "spiffe://                         | trust domain is empty",
        "spiffe:///agent                   | trust domain is empty",
        "spiffe://Example.org/agent        | trust domain \"Example.org\" must be lowercase",
        "spiffe://exa$mple.org/agent       | trust domain \"exa$mple.org\" contains \"$\"",
        "spiffe://exa%41mple.org/agent     | contains \"%\"",
        "spiffe://example.org:8443/agent   | port not allowed",
        "spiffe://user@example.org/agent   | userinfo not allowed",
        "spiffe://example.org/agent?x=1    | query \"?x=1\" not allowed",
        "spiffe://example.org/agent#frag   | fragment \"#frag\" not allowed",
        "spiffe://example.org?x            | query",
        "spiffe://example.org/             | trailing slash",
        "spiffe://example.org/agent/       | trailing slash",
        "spiffe://example.org//agent       | empty segment",
        "spiffe://example.org/a//b         | empty segment",
        "spiffe://example.org/a/./b        | dot segment \".\"",
        "spiffe://example.org/a/../b       | dot segment \"..\"",
        "spiffe://example.org/..           | dot segment \"..\"",
        "spiffe://example.org/a%2Fb        | percent-encoding not allowed",
        "spiffe://example.org/a b          | contains \" \"",
        "spiffe://example.org/a:b          | contains \":\"",
        "spiffe://example.org/a@b          | contains \"@\"",
        "spiffe://example.org/caf\u00e9    | contains \"\\u00e9\"",
    })
    void refusesInvalidIdsNamingTheBadPart(String id, String reason) {
        assertThatIllegalArgumentException().isThrownBy(() -> SpiffeId.parse(id)).withMessageContaining(reason);
    }

    @Test
    void escapesControlCharactersInMessages() {
        assertThatIllegalArgumentException().isThrownBy(() -> SpiffeId.parse("spiffe://example.org/a\nFAKE LOG LINE"))
                .withMessageNotContaining("\n")
                .withMessageContaining("\\u000a");
    }

    @Test
    void ofValidatesEachPart() {
        assertThat(SpiffeId.of("example.org", "/agent").uri()).isEqualTo("spiffe://example.org/agent");
        assertThat(SpiffeId.of("example.org", "").uri()).isEqualTo("spiffe://example.org");
        assertThatIllegalArgumentException().isThrownBy(() -> SpiffeId.of("example.org", "agent"))
                .withMessageContaining("must start with '/'");
        assertThatIllegalArgumentException().isThrownBy(() -> SpiffeId.of("example.org/x", "/agent"))
                .withMessageContaining("contains \"/\"");
        assertThatIllegalArgumentException().isThrownBy(() -> new SpiffeId("", "/agent"))
                .withMessageContaining("trust domain is empty");
        assertThatNullPointerException().isThrownBy(() -> SpiffeId.of(null, "/a")).withMessage("trustDomain");
        assertThatNullPointerException().isThrownBy(() -> SpiffeId.parse(null)).withMessage("id");
    }

    @Test
    void readsTheIdOfALeafSvid() throws Exception {
        Issued root = TestCerts.root("example.org");
        Issued leaf = TestCerts.leaf(root, "spiffe://example.org/agent").dns("agent.local").build();

        assertThat(SpiffeId.fromCertificate(leaf.cert())).isEqualTo(SpiffeId.parse("spiffe://example.org/agent"));
    }

    @Test
    void refusesCertificatesThatAreNotLeafSvids() throws Exception {
        Issued root = TestCerts.root("example.org");

        assertRefused(TestCerts.leaf(root, "spiffe://example.org/a").uris().build(), "exactly one URI SAN (found 0)");
        assertRefused(TestCerts.leaf(root, "spiffe://example.org/a").uris().dns("a.example.org").build(),
                "exactly one URI SAN (found 0)");
        assertRefused(TestCerts.leaf(root, "x").uris("spiffe://example.org/a", "spiffe://example.org/b").build(),
                "exactly one URI SAN (found 2)");
        assertRefused(TestCerts.leaf(root, "https://example.org/a").build(), "scheme \"https\"");
        assertRefused(TestCerts.leaf(root, "spiffe://example.org/a/").build(), "trailing slash");
        assertRefused(TestCerts.leaf(root, "spiffe://example.org").build(), "must have a path");
        assertRefused(root, "must have a path");
    }

    private static void assertRefused(Issued cert, String reason) {
        assertThatThrownBy(() -> SpiffeId.fromCertificate(cert.cert()))
                .isInstanceOf(CertificateException.class)
                .hasMessageContaining(reason);
    }
}
