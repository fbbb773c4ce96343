package dev.toolgate.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TaskTokenTest {

    @Test
    void tokensAreTg1And256RandomBitsAndHashToSha256Hex() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String t = TaskToken.mint();
            assertThat(t).startsWith("tg1.").hasSize(47).matches("tg1\\.[A-Za-z0-9_-]{43}");
            assertThat(TaskToken.hash(t)).hasSize(64).matches("[0-9a-f]{64}");
            assertThat(seen.add(t)).isTrue();
        }
        String t = TaskToken.mint();
        assertThat(TaskToken.hash(t)).isEqualTo(TaskToken.hash(new StringBuilder(t)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "tg1.", "tg2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
            "tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", " tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
    void malformedTokensAreNeverLookedUp(String token) {
        assertThat(TaskToken.hash(token)).isNull();
    }

    @Test
    void hashIsTheSha256OfTheTokensAsciiAndTheLookupKeyHoldsTheSameBytes() throws Exception {
        for (int i = 0; i < 100; i++) {
            String t = TaskToken.mint();
            String expected = HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(t.getBytes(StandardCharsets.US_ASCII)));
            assertThat(TaskToken.hash(t)).isEqualTo(expected);
            TokenKey key = TaskToken.key(new StringBuilder(t));
            assertThat(key).isEqualTo(TokenKey.ofHex(expected)).isEqualTo(TaskToken.key(t));
            assertThat(key.hashCode()).isEqualTo(TokenKey.ofHex(expected).hashCode());
            assertThat(key.hex()).isEqualTo(expected);
            assertThat(key.toString()).doesNotContain(t.substring(4));
        }
        assertThat(TaskToken.key(TaskToken.mint())).isNotEqualTo(TaskToken.key(TaskToken.mint()));
    }

    @Test
    void aTokenRefusedHalfwayLeavesNothingBehindForTheNextOne() {
        String t = TaskToken.mint();
        String expected = TaskToken.hash(t);
        // the same prefix and length, a character outside base64url in the middle: refused after part of it was read
        String bad = t.substring(0, 20) + "+" + t.substring(21);
        assertThat(TaskToken.key(bad)).isNull();
        assertThat(TaskToken.hash(t)).isEqualTo(expected);
    }

    @Test
    void aKeyIsReadOnlyFrom64HexDigits() {
        assertThatThrownBy(() -> TokenKey.ofHex("abc")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("3 characters (expected: 64 hex digits)");
        assertThatThrownBy(() -> TokenKey.ofHex("x".repeat(64))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theOneSpellingOfAllZeroBitsIsAccepted() {
        assertThat(TaskToken.hash("tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).isNotNull();
    }
}
