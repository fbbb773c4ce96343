package dev.toolgate.grant;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
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
    void theOneSpellingOfAllZeroBitsIsAccepted() {
        assertThat(TaskToken.hash("tg1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).isNotNull();
    }
}
