package dev.toolgate.operation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.call.Call;
import dev.toolgate.common.Protocol;
import dev.toolgate.mcp.McpMessage;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.identity.SpiffeId;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class OperationPatternTest {
    private static boolean matches(String pattern, String operation) {
        return OperationPattern.parse(pattern).matches(operation);
    }

    private static boolean within(String narrower, String wider) {
        return OperationPattern.parse(narrower).within(OperationPattern.parse(wider));
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
        assertThat(OperationPattern.parse("mcp:tools/call:*").matches(null)).isFalse();
        assertThat(OperationPattern.parse("GET /**").matches(null)).isFalse();
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
        assertThatThrownBy(() -> OperationPattern.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("operation");
    }

    @Test
    void aTooLongPatternIsRefused() {
        assertThatThrownBy(() -> OperationPattern.parse("mcp:tools/call:" + "x".repeat(OperationPattern.MAX_LENGTH)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: <= 1024");
    }

    @Test
    void protocolsAreNamed() {
        assertThat(OperationPattern.parse("GET /x").protocol()).isEqualTo(Protocol.HTTP);
        assertThat(OperationPattern.parse("grpc:a.B/*").protocol()).isEqualTo(Protocol.GRPC);
        assertThat(OperationPattern.parse("mcp:tools/list").protocol()).isEqualTo(Protocol.MCP);
        assertThat(OperationPattern.parse("mcp:tools/list")).isEqualTo(OperationPattern.parse("mcp:tools/list"));
    }

    // ---- HTTP paths, and operations as the call builds them ----

    @ParameterizedTest(name = "{0} matches {1} {2}: {3}")
    @CsvSource({
            "GET /forecast,        GET,  /forecast,          true",
            "GET /forecast,        POST, /forecast,          false",
            "GET /forecast,        GET,  /forecast/,         false",
            "GET /forecast,        GET,  /forecasts,         false",
            "GET /forecast,        GET,  /forecas,           false",
            "GET /forecast,        GET,  /forecast/oslo,     false",
            "GET /forecast/*,      GET,  /forecast/oslo,     true",
            "GET /forecast/*,      GET,  /forecast,          false",
            "GET /forecast/*,      GET,  /forecast/,         false",
            "GET /forecast/*,      GET,  /forecast/oslo/day, false",
            "GET /forecast/**,     GET,  /forecast,          true",
            "GET /forecast/**,     GET,  /forecast/oslo/day, true",
            "GET /forecast/**,     GET,  /forecastx,         false",
            "GET /*/day,           GET,  /oslo/day,          true",
            "GET /*/day,           GET,  /oslo/night,        false",
            "* /**,                DELETE, /anything/at/all, true",
            "* /,                  GET,  /,                  true",
            "* /,                  GET,  /x,                 false",
            "GET /a/**,            get,  /a,                 false",
    })
    void matchesExactlyWhatItSays(String pattern, String method, String path, boolean expected) {
        assertThat(OperationPattern.parse(pattern).matches(method + " " + path)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "GET|expected: METHOD /path",
            "GET  /a|expected: METHOD /path",
            "get /a|upper-case HTTP method",
            "GET a|starting with /",
            "GET /a/**/b|** is allowed only as the last segment",
            "GET /a*|not a normalized path segment, * or **",
            "GET /a/../b|not a normalized path segment",
            "GET /a//b|not a normalized path segment",
            "GET /a/./b|not a normalized path segment",
            "GET /a?x=1|not a normalized path segment",
    })
    void refusesWhatANormalizedPathCannotContain(String pattern, String reason) {
        assertThatThrownBy(() -> OperationPattern.parse(pattern))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(reason);
    }

    @ParameterizedTest(name = "{0} within {1}: {2}")
    @CsvSource({
            "GET /a,        GET /a,     true",
            "GET /a,        * /a,       true",
            "* /a,          GET /a,     false",
            "GET /a/b,      GET /a/*,   true",
            "GET /a/*,      GET /a/b,   false",
            "GET /a/b/c,    GET /a/**,  true",
            "GET /a/**,     GET /a/**,  true",
            "GET /a/b/**,   GET /a/**,  true",
            "GET /a/**,     GET /a/b/**, false",
            "GET /a/**,     GET /a/*,   false",
            "GET /a,        GET /a/**,  true",
            "GET /b,        GET /a/**,  false",
            "GET /a/*,      GET /a/**,  true",
    })
    void withinIsTheSubsetRelation(String narrow, String wide, boolean expected) {
        assertThat(OperationPattern.parse(narrow).within(OperationPattern.parse(wide))).isEqualTo(expected);
    }

    private static Call mcp(String json) throws Exception {
        McpMessage m = new McpParser().parse(json.getBytes(StandardCharsets.UTF_8), 0, json.length()).messages().get(0);
        return new Call(AGENT, null, "r", Protocol.MCP, "POST", "/", m);
    }

    private static final SpiffeId AGENT = SpiffeId.parse("spiffe://t/a");

    @ParameterizedTest(name = "{0} vs {1}: {2}")
    @CsvSource(delimiter = '|', value = {
            "mcp:tools/call:search_issues|{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues\"}}|true",
            "mcp:tools/call:search_issues|{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues2\"}}|false",
            "mcp:tools/call:search|{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues\"}}|false",
            "mcp:tools/call:*|{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"delete_repo\"}}|true",
            "mcp:tools/call:*|{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}|false",
            "mcp:tools/list|{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}|true",
            "mcp:tools/list|{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"list\"}}|false",
            "mcp:notifications/*|{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}|true",
            "mcp:prompts/get:*|{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"prompts/get\",\"params\":{\"name\":\"p\"}}|true",
            "mcp:resources/read:file:///data/*.csv|{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///data/a.csv\"}}|true",
            "mcp:resources/read:file:///data/*.csv|{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///data/x/a.csv\"}}|false",
            "mcp:resources/read:file:///data/**|{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///data/x/a.csv\"}}|true",
            "mcp:resources/read:file:///data/**|{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///etc/passwd\"}}|false",
            "POST /**|{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}|false",
    })
    void mcpPatternsMatchWhatTheMessageDoes(String pattern, String json, boolean expected) throws Exception {
        // Grants and rules match the operation string the call builds (Call.operation()).
        assertThat(OperationPattern.parse(pattern).matches(mcp(json).operation())).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} vs {1}: {2}")
    @CsvSource({
            "grpc:demo.Tools/Search,   /demo.Tools/Search,  true",
            "grpc:demo.Tools/Search,   /demo.Tools/Delete,  false",
            "grpc:demo.Tools/*,        /demo.Tools/Delete,  true",
            "grpc:demo.Tools/*,        /demo.ToolsX/Delete, false",
            "grpc:demo.Tools/Search,   /demo.Tools/SearchAll, false",
    })
    void grpcPatternsMatchServiceAndMethod(String pattern, String path, boolean expected) {
        Call call = new Call(AGENT, null, "g", Protocol.GRPC, "POST", path);
        assertThat(OperationPattern.parse(pattern).matches(call.operation())).isEqualTo(expected);
        // ... and never on an HTTP route.
        assertThat(OperationPattern.parse(pattern).matches(new Call(AGENT, null, "h", Protocol.HTTP, "POST", path).operation()))
                .isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "mcp:tools/call:|mcp:tools/call",
            "mcp:tools/call:a b|mcp:tools/call",
            "mcp:resources/read:|mcp:tools/call",
            "mcp:|mcp:tools/call",
            "grpc:demo.Tools/Sea*|grpc:package.Service/Method",
            "grpc:demo.Tools|grpc:package.Service/Method",
    })
    void malformedMcpAndGrpcPatternsAreRefused(String pattern, String reason) {
        assertThatThrownBy(() -> OperationPattern.parse(pattern)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(pattern.substring(0, 4));
    }

    @ParameterizedTest(name = "{0} within {1}: {2}")
    @CsvSource({
            "mcp:tools/call:search,          mcp:tools/call:*,           true",
            "mcp:tools/call:*,               mcp:tools/call:search,      false",
            "mcp:tools/call:search,          mcp:prompts/get:*,          false",
            "grpc:demo.Tools/Search,         grpc:demo.Tools/*,          true",
            "grpc:demo.Tools/*,              grpc:demo.Tools/Search,     false",
            "mcp:resources/read:file:///d/a, mcp:resources/read:file:///d/*, true",
            "mcp:resources/read:file:///d/*, mcp:resources/read:file:///d/**, true",
            "mcp:resources/read:file:///d/**, mcp:resources/read:file:///d/*, false",
            "mcp:tools/list,                 GET /**,                    false",
    })
    void withinAcrossKinds(String narrow, String wide, boolean expected) {
        assertThat(OperationPattern.parse(narrow).within(OperationPattern.parse(wide))).isEqualTo(expected);
    }
}
