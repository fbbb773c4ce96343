package dev.toolgate.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OpPatternTest {
    private static boolean matches(String pattern, String operation) {
        return OpPattern.parse(pattern).matches(operation);
    }

    private static boolean within(String narrower, String wider) {
        return OpPattern.parse(narrower).within(OpPattern.parse(wider));
    }

    @Test
    void httpPatternsMatchMethodAndNormalizedPath() {
        assertThat(matches("GET /repos/**", "GET /repos/acme/x")).isTrue();
        assertThat(matches("GET /repos/**", "POST /repos/acme/x")).isFalse();
        assertThat(matches("* /repos/*", "DELETE /repos/x")).isTrue();
        assertThat(matches("* /repos/*", "DELETE /repos/x/y")).isFalse();
        assertThat(within("GET /repos/acme/*", "GET /repos/**")).isTrue();
        assertThat(within("GET /repos/**", "GET /repos/acme/*")).isFalse();
        assertThat(within("GET /repos/*", "* /repos/*")).isTrue();
    }

    @Test
    void httpPatternsNeverMatchOperationsOfOtherProtocols() {
        // A hostile tool name that looks like a path must not slip under an HTTP wildcard.
        assertThat(matches("* /**", "mcp:tools/call:x /etc")).isFalse();
        assertThat(matches("* /**", "grpc:demo.Tools/Search")).isFalse();
        assertThat(matches("POST /**", "mcp:tools/list")).isFalse();
        assertThat(within("mcp:tools/call:x", "* /**")).isFalse();
    }

    @Test
    void grpcMethodExactOrAny() {
        assertThat(matches("grpc:demo.Tools/Search", "grpc:demo.Tools/Search")).isTrue();
        assertThat(matches("grpc:demo.Tools/Search", "grpc:demo.Tools/Delete")).isFalse();
        assertThat(matches("grpc:demo.Tools/Search", "grpc:demo.Tools/SearchAll")).isFalse();
        assertThat(matches("grpc:demo.Tools/*", "grpc:demo.Tools/Delete")).isTrue();
        assertThat(matches("grpc:demo.Tools/*", "grpc:demo.ToolsX/Delete")).isFalse();
        assertThat(matches("grpc:demo.Tools/*", "grpc:demo.Tools/")).isFalse();
        assertThat(matches("grpc:demo.Tools/*", "grpc:demo.Tools/A/B")).isFalse();
        assertThat(matches("grpc:demo.Tools/*", "grpc:demo.Tool")).isFalse();
        assertThat(matches("grpc:demo.Tools/*", "POST /demo.Tools/Search")).isFalse();
        assertThat(within("grpc:demo.Tools/Search", "grpc:demo.Tools/*")).isTrue();
        assertThat(within("grpc:demo.Tools/*", "grpc:demo.Tools/Search")).isFalse();
        assertThat(within("grpc:demo.Tools/Search", "grpc:other.Tools/*")).isFalse();
    }

    @Test
    void toolNamesAreEverythingAfterTheSecondColon() {
        assertThat(matches("mcp:tools/call:search", "mcp:tools/call:search")).isTrue();
        assertThat(matches("mcp:tools/call:search", "mcp:tools/call:search:extra")).isFalse();
        assertThat(matches("mcp:tools/call:search", "mcp:tools/call:searc")).isFalse();
        assertThat(matches("mcp:tools/call:a:b", "mcp:tools/call:a:b")).isTrue();
        assertThat(matches("mcp:tools/call:a", "mcp:tools/call:a:b")).isFalse();
        assertThat(matches("mcp:tools/call:*", "mcp:tools/call:a:b")).isTrue();
        assertThat(matches("mcp:tools/call:*", "mcp:tools/call:")).isFalse();
        assertThat(matches("mcp:tools/call:*", "mcp:tools/list")).isFalse();
        assertThat(matches("mcp:tools/call:*", "mcp:tools/call")).isFalse();
        assertThat(matches("mcp:tools/call:*", "mcp:prompts/get:x")).isFalse();
        assertThat(within("mcp:tools/call:a:b", "mcp:tools/call:*")).isTrue();
        assertThat(within("mcp:tools/call:*", "mcp:tools/call:a")).isFalse();
        assertThat(within("mcp:tools/call:*", "mcp:tools/call:*")).isTrue();
    }

    @Test
    void promptsByNameOrAny() {
        assertThat(matches("mcp:prompts/get:summarize", "mcp:prompts/get:summarize")).isTrue();
        assertThat(matches("mcp:prompts/get:*", "mcp:prompts/get:x")).isTrue();
        assertThat(matches("mcp:prompts/get:*", "mcp:tools/call:x")).isFalse();
        assertThat(within("mcp:prompts/get:x", "mcp:prompts/get:*")).isTrue();
        assertThat(within("mcp:prompts/get:x", "mcp:tools/call:*")).isFalse();
    }

    @Test
    void resourceGlobs() {
        assertThat(matches("mcp:resources/read:file:///repo/**", "mcp:resources/read:file:///repo/a/b.txt")).isTrue();
        assertThat(matches("mcp:resources/read:file:///repo/*", "mcp:resources/read:file:///repo/a/b.txt")).isFalse();
        assertThat(matches("mcp:resources/read:file:///repo/*.md", "mcp:resources/read:file:///repo/README.md"))
                .isTrue();
        assertThat(matches("mcp:resources/read:file:///repo/*.md", "mcp:resources/read:file:///other/README.md"))
                .isFalse();
        assertThat(matches("mcp:resources/read:db://x", "mcp:resources/read:db://x")).isTrue();
        assertThat(matches("mcp:resources/read:db://x", "mcp:resources/read:db://xy")).isFalse();
        assertThat(within("mcp:resources/read:file:///repo/a/*.md", "mcp:resources/read:file:///repo/**")).isTrue();
        assertThat(within("mcp:resources/read:file:///repo/*", "mcp:resources/read:file:///repo/**")).isTrue();
        assertThat(within("mcp:resources/read:file:///repo/**", "mcp:resources/read:file:///repo/*")).isFalse();
        assertThat(within("mcp:resources/read:file:///repo/x", "mcp:resources/read:file:///repo/*")).isTrue();
        assertThat(within("mcp:resources/read:file:///a*", "mcp:resources/read:file:///*")).isTrue();
        assertThat(within("mcp:resources/read:file:///*", "mcp:resources/read:file:///a*")).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "mcp:resources/read:file:///repo/../etc/passwd",
        "mcp:resources/read:file:///repo/./x",
        "mcp:resources/read:file:///repo/..",
        "mcp:resources/read:file:///repo/%2e%2e/etc",
        "mcp:resources/read:file:///repo/a%2Fb",
        "mcp:resources/read:file:///repo/a\\..\\b"
    })
    void wildcardResourcesNeverMatchTraversalOrEncodedSeparators(String operation) {
        assertThat(matches("mcp:resources/read:file:///repo/**", operation)).isFalse();
    }

    @Test
    void aTraversalUriIsNotWithinAWildcardGlob() {
        assertThat(within("mcp:resources/read:file:///repo/../etc", "mcp:resources/read:file:///repo/**")).isFalse();
    }

    @Test
    void aGlobOnAHugeUriIsRefusedNotSlow() {
        String pattern = "mcp:resources/read:" + "*a".repeat(200) + "**b";
        String uri = "mcp:resources/read:" + "a".repeat(Glob.MAX_SUBJECT);
        long start = System.nanoTime();
        assertThat(matches(pattern, uri)).isFalse();
        assertThat(matches(pattern, uri + "a")).isFalse();
        assertThat(System.nanoTime() - start).isLessThan(5_000_000_000L);
    }

    @Test
    void otherMcpMethodsExactOrOneFurtherSegment() {
        assertThat(matches("mcp:tools/list", "mcp:tools/list")).isTrue();
        assertThat(matches("mcp:tools/list", "mcp:tools/list:x")).isFalse();
        assertThat(matches("mcp:tools/list", "mcp:tools/listx")).isFalse();
        assertThat(matches("mcp:notifications/*", "mcp:notifications/initialized")).isTrue();
        assertThat(matches("mcp:notifications/*", "mcp:notifications/a/b")).isFalse();
        assertThat(matches("mcp:notifications/*", "mcp:notifications/")).isFalse();
        assertThat(matches("mcp:notifications/*", "mcp:notifications/x:y")).isFalse();
        assertThat(within("mcp:notifications/cancelled", "mcp:notifications/*")).isTrue();
        assertThat(within("mcp:notifications/*", "mcp:notifications/cancelled")).isFalse();
        assertThat(within("mcp:tools/list", "mcp:tools/call:*")).isFalse();
    }

    @Test
    void nothingMatchesNull() {
        assertThat(OpPattern.parse("mcp:tools/call:*").matches(null)).isFalse();
        assertThat(OpPattern.parse("GET /**").matches(null)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "GET", "get /x", "GET /a/**/b", "GET /a/../b",
        "grpc:demo.Tools", "grpc:demo.Tools/", "grpc:demo.Tools/A/B", "grpc:demo.Too ls/X", "grpc:/X",
        "grpc:demo.Tools/Sea*",
        "mcp:tools/call", "mcp:tools/call:", "mcp:tools/call:a b", "mcp:resources/read", "mcp:resources/read:",
        "mcp:resources/read:a***", "mcp:prompts/get", "mcp:prompts/get:", "mcp:*", "mcp:", "mcp:tools/*/x",
        "mcp:a b", "mcp:tools/call:a\nb"
    })
    void malformedPatternsAreRefusedWithTheReason(String text) {
        assertThatThrownBy(() -> OpPattern.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("operation");
    }

    @Test
    void aTooLongPatternIsRefused() {
        assertThatThrownBy(() -> OpPattern.parse("mcp:tools/call:" + "x".repeat(OpPattern.MAX_LENGTH)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: <= 1024");
    }

    @Test
    void protocolsAreNamed() {
        assertThat(OpPattern.parse("GET /x").protocol()).isEqualTo("http");
        assertThat(OpPattern.parse("grpc:a.B/*").protocol()).isEqualTo("grpc");
        assertThat(OpPattern.parse("mcp:tools/list").protocol()).isEqualTo("mcp");
        assertThat(OpPattern.parse("mcp:tools/list")).isEqualTo(OpPattern.parse("mcp:tools/list"));
    }
}
