package dev.toolgate.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.config.RouteAuditConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Argument digests and captured values: canonical, and never a secret or an e-mail address in clear. */
class ArgumentCaptureTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    private static Map<String, String> capture(String arguments, String... names) throws Exception {
        return ArgumentCapture.capture(new RouteAuditConfig(List.of(names), null), json(arguments));
    }

    private static String one(String value) throws Exception {
        return capture(JSON.writeValueAsString(Map.of("v", value)), "v").get("v");
    }

    @Test
    void theDigestIsSha256OfTheCanonicalJson_independentOfKeyOrderAndSpacing() throws Exception {
        JsonNode a = json("{\"repo\":\"acme/api\",\"filter\":{\"state\":\"open\",\"labels\":[\"bug\",\"p1\"]},"
                + "\"limit\":10}");
        JsonNode b = json("{ \"limit\" : 10, \"filter\" : { \"labels\" : [\"bug\", \"p1\"], \"state\" : \"open\" },"
                + " \"repo\" : \"acme/api\" }");
        String canonical = "{\"filter\":{\"labels\":[\"bug\",\"p1\"],\"state\":\"open\"},\"limit\":10,"
                + "\"repo\":\"acme/api\"}";
        assertThat(ArgumentCapture.canonicalJson(a)).isEqualTo(canonical);
        assertThat(ArgumentCapture.canonicalJson(b)).isEqualTo(canonical);
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(canonical.getBytes(StandardCharsets.UTF_8)));
        assertThat(ArgumentCapture.digest(a)).isEqualTo(expected).isEqualTo(ArgumentCapture.digest(b));
        // Array order is meaning: it changes the digest.
        assertThat(ArgumentCapture.digest(json("{\"l\":[1,2]}"))).isNotEqualTo(ArgumentCapture.digest(
                json("{\"l\":[2,1]}")));
        assertThat(ArgumentCapture.digest(null)).isNull();
    }

    @Test
    void byDefaultNothingIsCaptured() throws Exception {
        assertThat(ArgumentCapture.NONE.captures()).isFalse();
        assertThat(ArgumentCapture.of(null).capture(json("{\"repo\":\"acme/api\"}"))).isEmpty();
    }

    @Test
    void onlyTheNamedTopLevelArgumentsAreCaptured_nestedValuesAsCanonicalJson() throws Exception {
        Map<String, String> got = capture("{\"repo\":\"acme/api\",\"query\":\"is:open\",\"body\":\"private\","
                + "\"filter\":{\"state\":\"open\",\"n\":3}}", "repo", "filter", "absent");
        assertThat(got).containsExactly(Map.entry("filter", "{\"n\":3,\"state\":\"open\"}"),
                Map.entry("repo", "acme/api"));
        assertThat(capture("[1,2]", "repo")).isEmpty();
    }

    @Test
    void theBuiltInRulesRedactSecretsAndEmailAddresses() throws Exception {
        String jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGlmZmU6Ly90In0.c2lnbmF0dXJlLWJ5dGVz";
        String[][] cases = {
                {"Authorization: Bearer abc.DEF-123_xyz", "abc.DEF-123_xyz", "[REDACTED:credential]"},
                {"basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "[REDACTED:credential]"},
                {"use tg1.Yp3uXw0sQ_tYk-9Aa1bC2dE3fG4hI5jK6lM7nO8pQ9r now", "Yp3uXw0sQ_tYk", "[REDACTED:task-token]"},
                {"token " + jwt, "eyJzdWIiOiJzcGlmZmU6Ly90In0", "[REDACTED:jwt]"},
                {"key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "[REDACTED:aws-key]"},
                {"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abc", "[REDACTED:api-key]"},
                {"sk-proj-abcdefghij0123456789", "abcdefghij0123456789", "[REDACTED:api-key]"},
                {"login?user=bob&password=hunter2&x=1", "hunter2", "password=[REDACTED]"},
                {"secret: opensesame", "opensesame", "secret: [REDACTED]"},
                {"write to jane.doe+ops@example.co.uk today", "jane.doe", "[REDACTED:email]"},
                {"aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI", "[REDACTED:high-entropy]"},
                {"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
                        "MIIEvQIBADAN", "[REDACTED:private-key]"},
        };
        for (String[] c : cases) {
            String got = one(c[0]);
            assertThat(got).as(c[0]).doesNotContain(c[1]).contains(c[2]);
        }
    }

    @Test
    void ordinaryTextAndHexDigestsStayReadable() throws Exception {
        String sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assertThat(one("commit " + sha)).isEqualTo("commit " + sha);
        assertThat(one("is:open label:bug author:octocat")).isEqualTo("is:open label:bug author:octocat");
        assertThat(one("acme/payments-service-gateway-v2")).isEqualTo("acme/payments-service-gateway-v2");
    }

    @Test
    void secretNamedArgumentsAndKeysAreRedactedWhole() throws Exception {
        Map<String, String> got = capture("{\"api_key\":\"plain-looking\",\"config\":{\"user\":\"bob\","
                + "\"Password\":\"hunter2\",\"nested\":{\"accessToken\":\"abc\"}}}", "api_key", "config");
        assertThat(got.get("api_key")).isEqualTo("[REDACTED]");
        assertThat(got.get("config")).isEqualTo("{\"Password\":\"[REDACTED]\",\"nested\":{\"accessToken\":"
                + "\"[REDACTED]\"},\"user\":\"bob\"}");
    }

    @Test
    void theRoutesOwnPatternsApplyOnTopOfTheBuiltInOnes() throws Exception {
        RouteAuditConfig cfg = new RouteAuditConfig(List.of("query"), List.of("ACME-\\d{6}", "(?i)project x"));
        Map<String, String> got = ArgumentCapture.capture(cfg,
                json("{\"query\":\"ticket ACME-123456 about Project X for bob@example.com\"}"));
        assertThat(got.get("query")).isEqualTo("ticket [REDACTED] about [REDACTED] for [REDACTED:email]");
    }

    @Test
    void longValuesAreCutAfterRedactionAndSayHowLongTheyWere() throws Exception {
        String longText = "mail a@example.org " + "word ".repeat(100);
        String got = one(longText);
        int redactedLength = longText.length() - "a@example.org".length() + "[REDACTED:email]".length();
        assertThat(got).startsWith("mail [REDACTED:email] word")
                .hasSize(ArgumentCapture.MAX_VALUE_CHARS + ("...(" + redactedLength + " chars)").length())
                .endsWith("...(" + redactedLength + " chars)");
        // A secret straddling the cut is redacted before the cut: no prefix of it survives.
        String straddling = "x ".repeat(120) + "tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assertThat(one(straddling)).doesNotContain("tg1.").doesNotContain("AAAAAAAA");
    }

    @Test
    void entropyOfHexCannotReachTheThresholdButRandomBase64Does() {
        assertThat(Redaction.entropy("0123456789abcdef".repeat(4))).isLessThanOrEqualTo(4.0)
                .isLessThan(Redaction.MIN_ENTROPY_BITS);
        assertThat(Redaction.entropy("Yp3uXw0sQtYk9Aa1bC2dE3fG4hI5jK6lM7nO8pQ9r")).isGreaterThan(
                Redaction.MIN_ENTROPY_BITS);
    }
}
