package dev.toolgate.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.call.Call;
import dev.toolgate.mcp.McpMessage;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.policy.OpPattern;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OperationPatternTest {

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
        assertThat(OperationPattern.parse(pattern).matches(method, path)).isEqualTo(expected);
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
        return new Call(AGENT, null, "r", "mcp", "POST", "/", m);
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
        // Grants hold OpPatterns and match the call's operation string (Grant.matches).
        assertThat(OpPattern.parse(pattern).matches(mcp(json).operation())).isEqualTo(expected);
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
        Call call = new Call(AGENT, null, "g", "grpc", "POST", path);
        assertThat(OpPattern.parse(pattern).matches(call.operation())).isEqualTo(expected);
        // ... and never on an HTTP route.
        assertThat(OpPattern.parse(pattern).matches(new Call(AGENT, null, "h", "http", "POST", path).operation()))
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
        assertThatThrownBy(() -> OpPattern.parse(pattern)).isInstanceOf(IllegalArgumentException.class)
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
        assertThat(OpPattern.parse(narrow).within(OpPattern.parse(wide))).isEqualTo(expected);
    }
}
