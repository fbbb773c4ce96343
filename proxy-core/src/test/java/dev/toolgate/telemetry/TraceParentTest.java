package dev.toolgate.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class TraceParentTest {
    @Test
    void aValidHeaderIsContinued() {
        TraceParent tp = TraceParent.continueOrStart("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
        assertThat(tp.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(tp.flags()).isEqualTo("00");
        assertThat(tp.header()).isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    }

    @ParameterizedTest
    @NullSource
    @ValueSource(strings = {"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    void anythingElseStartsANewTrace(String header) {
        TraceParent tp = TraceParent.continueOrStart(header);
        assertThat(tp.header()).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        assertThat(tp.traceId()).isNotEqualTo("00000000000000000000000000000000").isNotEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    }
}
