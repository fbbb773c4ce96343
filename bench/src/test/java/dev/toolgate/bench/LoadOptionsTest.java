package dev.toolgate.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code --header}: what is accepted, what is refused, and that the value (a task token) is never printed. */
class LoadOptionsTest {

    @Test
    void aHeaderIsParsedWithOrWithoutTheSpaceAfterTheColonAndItsNameLowerCased() {
        assertThat(LoadOptions.Header.parse("Toolgate-Task: tg1.abc")).isEqualTo(
                new LoadOptions.Header("toolgate-task", "tg1.abc"));
        assertThat(LoadOptions.Header.parse("toolgate-task:tg1.abc").value()).isEqualTo("tg1.abc");
    }

    @Test
    void malformedReservedAndControlCharacterHeadersAreRefused() {
        assertThatThrownBy(() -> LoadOptions.Header.parse("no-colon")).hasMessageContaining("expected: name: value");
        assertThatThrownBy(() -> LoadOptions.Header.parse("bad name: x")).hasMessageContaining("HTTP token");
        assertThatThrownBy(() -> LoadOptions.Header.parse("Host: evil")).hasMessageContaining("header host");
        assertThatThrownBy(() -> LoadOptions.Header.parse("x: a\r\nb")).hasMessageContaining("control");
    }

    @Test
    void theValueIsNeitherInTheOptionsStringNorInTheCommandLineWrittenToResults() {
        LoadOptions o = LoadOptions.of(URI.create("https://127.0.0.1:1/x"), LoadOptions.Protocol.H1, 1, 1,
                Duration.ofSeconds(1)).withHeader("toolgate-task", "tg1.secret");
        assertThat(o.headers()).hasSize(1);
        assertThat(o.toString()).doesNotContain("secret");
        assertThat(BenchMain.withoutHeaderValues(new String[] {"load", "--target", "https://h/x", "--header",
            "toolgate-task:tg1.secret", "--rate", "5"}))
                .isEqualTo("--target https://h/x --header toolgate-task:... --rate 5");
    }

    @Test
    void headerIsTheOneOptionThatMayBeRepeated() {
        Args a = new Args(new String[] {"load", "--header", "a: 1", "--header", "b: 2", "--rate", "3"}, 1,
                Set.of("rate"), Set.of("header"), Set.of());
        assertThat(a.all("header")).containsExactly("a: 1", "b: 2");
        assertThatThrownBy(() -> new Args(new String[] {"load", "--rate", "1", "--rate", "2"}, 1,
                Set.of("rate"), Set.of("header"), Set.of()))
                .hasMessageContaining("given twice");
    }
}
