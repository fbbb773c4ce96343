package dev.toolgate.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SpiffeIdPatternTest {
    @ParameterizedTest
    @CsvSource({
        "spiffe://td/agents/*, spiffe://td/agents/a1, true",
        "spiffe://td/agents/*, spiffe://td/agents/a1/x, false",
        "spiffe://td/agents/*, spiffe://td/agents, false",
        "spiffe://td/agents/*, spiffe://other/agents/a1, false",
        "spiffe://td/ns/**, spiffe://td/ns/research/a1, true",
        "spiffe://td/ns/**, spiffe://td/ns/a, true",
        "spiffe://td/ns/**, spiffe://td/ns, false",
        "spiffe://td/agents/a1, spiffe://td/agents/a1, true",
        "spiffe://td/agents/a1, spiffe://td/agents/a10, false",
        "spiffe://td/*/x, spiffe://td/agents/x, true",
        "spiffe://td/*/x, spiffe://td/agents/y, false",
        "spiffe://td/*/x, spiffe://td/agents/x/y, false",
        "spiffe://td/*/x, spiffe://td/agents/xx, false",
        "spiffe://td/*/x, spiffe://td/agents, false",
        "spiffe://td/a/*/**, spiffe://td/a/b/c/d, true",
        "spiffe://td/a/*/**, spiffe://td/a/b, false",
        "spiffe://td/**, spiffe://td/a, true",
        "spiffe://td/**, spiffe://td, false",
        "spiffe://td/agents/a1, spiffe://td/agents/a, false",
        "spiffe://td/agents/a1, spiffe://td/agents/a1/b, false",
        "spiffe://td/agents/a1, spiffe://td/agentsx/a1, false",
        "spiffe://td/agents/a1, spiffe://td, false",
        "spiffe://td/*, spiffe://td, false",
        "spiffe://td/*, spiffe://tdx/a, false",
        "spiffe://td/*, spiffe://t/a, false"})
    void matches(String pattern, String id, boolean expected) {
        assertThat(SpiffeIdPattern.parse(pattern).matches(SpiffeId.parse(id))).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"td/agents/*", "spiffe://td", "spiffe://td/", "spiffe://td/**/x", "spiffe://td//a",
            "spiffe://TD/a", "spiffe://td/a b"})
    void refusesMalformedPatterns(String pattern) {
        assertThatThrownBy(() -> SpiffeIdPattern.parse(pattern)).isInstanceOf(IllegalArgumentException.class);
    }
}
