package dev.toolgate.mcp;

import static dev.toolgate.mcp.McpParseException.INVALID_PARAMS;
import static dev.toolgate.mcp.McpParseException.INVALID_REQUEST;
import static dev.toolgate.mcp.McpParseException.PARSE_ERROR;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class McpParserTest {

    private final McpParser parser = new McpParser();

    private McpRequest parse(String body) throws McpParseException {
        return parse(parser, body);
    }

    private static McpRequest parse(McpParser parser, String body) throws McpParseException {
        byte[] bytes = body.getBytes(UTF_8);
        return parser.parse(bytes, 0, bytes.length);
    }

    private McpMessage single(String body) throws McpParseException {
        McpRequest request = parse(body);
        assertThat(request.batch()).isFalse();
        assertThat(request.messages()).hasSize(1);
        return request.messages().get(0);
    }

    // ---- what real clients send ----

    @Test
    void initialize() throws Exception {
        McpMessage m = single("""
                {"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",
                 "capabilities":{"sampling":{},"roots":{"listChanged":true}},
                 "clientInfo":{"name":"agent","version":"1.0.0"}}}""");
        assertThat(m.method()).isEqualTo("initialize");
        assertThat(m.id().intValue()).isZero();
        assertThat(m.notification()).isFalse();
        assertThat(m.response()).isFalse();
        assertThat(m.tool()).isNull();
        assertThat(m.uri()).isNull();
        assertThat(m.arguments()).isNull();
        assertThat(m.operation()).isEqualTo("mcp:initialize");
    }

    @Test
    void toolsList() throws Exception {
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"method\":\"tools/list\",\"params\":{\"cursor\":\"x\"}}");
        assertThat(m.id().textValue()).isEqualTo("req-1");
        assertThat(m.operation()).isEqualTo("mcp:tools/list");
    }

    @Test
    void toolsCallWithNestedArguments() throws Exception {
        McpMessage m = single("""
                {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search_issues",
                 "arguments":{"repo":"acme/api","query":"label:bug","filters":{"state":["open","closed"],
                 "limit":25,"score":0.5,"since":null,"deep":{"a":[{"b":true}]}}},"_meta":{"progressToken":3}}}""");
        assertThat(m.method()).isEqualTo("tools/call");
        assertThat(m.tool()).isEqualTo("search_issues");
        assertThat(m.operation()).isEqualTo("mcp:tools/call:search_issues");
        assertThat(m.arguments().get("repo").textValue()).isEqualTo("acme/api");
        assertThat(m.arguments().at("/filters/state/1").textValue()).isEqualTo("closed");
        assertThat(m.arguments().at("/filters/limit").intValue()).isEqualTo(25);
        assertThat(m.arguments().at("/filters/deep/a/0/b").booleanValue()).isTrue();
        assertThat(m.arguments().at("/filters/since").isNull()).isTrue();
        // Arguments never reach diagnostic output through toString.
        assertThat(m.toString()).contains("mcp:tools/call:search_issues").doesNotContain("label:bug");
    }

    @Test
    void toolsCallWithoutArguments() throws Exception {
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ping_tool\"}}");
        assertThat(m.arguments()).isNull();
        assertThat(m.operation()).isEqualTo("mcp:tools/call:ping_tool");
    }

    @Test
    void resourcesRead() throws Exception {
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///repo/README.md\"}}");
        assertThat(m.uri()).isEqualTo("file:///repo/README.md");
        assertThat(m.tool()).isNull();
        assertThat(m.operation()).isEqualTo("mcp:resources/read:file:///repo/README.md");
    }

    @Test
    void promptsGet() throws Exception {
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"prompts/get\",\"params\":{\"name\":\"triage\",\"arguments\":{\"repo\":\"acme/api\"}}}");
        assertThat(m.tool()).isEqualTo("triage");
        assertThat(m.arguments().get("repo").textValue()).isEqualTo("acme/api");
        assertThat(m.operation()).isEqualTo("mcp:prompts/get:triage");
    }

    @Test
    void initializedNotification() throws Exception {
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
        assertThat(m.notification()).isTrue();
        assertThat(m.id()).isNull();
        assertThat(m.operation()).isEqualTo("mcp:notifications/initialized");
    }

    @Test
    void ping() throws Exception {
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"ping\"}");
        assertThat(m.operation()).isEqualTo("mcp:ping");
    }

    @Test
    void clientResponseToAServerRequest() throws Exception {
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"hi\"}}}");
        assertThat(m.response()).isTrue();
        assertThat(m.method()).isNull();
        assertThat(m.notification()).isFalse();
        assertThat(m.id().intValue()).isEqualTo(5);
        assertThat(m.operation()).isEqualTo("mcp:response");

        McpMessage error = single("{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"error\":{\"code\":-1,\"message\":\"User rejected sampling request\"}}");
        assertThat(error.operation()).isEqualTo("mcp:response");
    }

    @Test
    void batchMixingMessagesKeepsTheirOrder() throws Exception {
        McpRequest request = parse("""
                [{"jsonrpc":"2.0","id":1,"method":"ping"},
                 {"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}},
                 {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_repo","arguments":{"repo":"acme/api"}}},
                 {"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"repo://acme/api"}},
                 {"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"triage"}},
                 {"jsonrpc":"2.0","id":"s-9","result":{}}]""");
        assertThat(request.batch()).isTrue();
        assertThat(request.messages()).extracting(McpMessage::operation).containsExactly(
                "mcp:ping", "mcp:notifications/cancelled", "mcp:tools/call:delete_repo",
                "mcp:resources/read:repo://acme/api", "mcp:prompts/get:triage", "mcp:response");
        assertThat(request.messages()).extracting(McpMessage::notification)
                .containsExactly(false, true, false, false, false, false);
    }

    @Test
    void batchOfOneIsStillABatch() throws Exception {
        McpRequest request = parse("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
        assertThat(request.batch()).isTrue();
        assertThat(request.messages()).hasSize(1);
    }

    @Test
    void readsOnlyTheGivenSliceOfTheBuffer() throws Exception {
        byte[] buffer = "xx{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}garbage".getBytes(UTF_8);
        McpRequest request = parser.parse(buffer, 2, buffer.length - 2 - "garbage".length());
        assertThat(request.messages().get(0).operation()).isEqualTo("mcp:ping");
    }

    @Test
    void whitespaceAroundTheValueIsJson() throws Exception {
        assertThat(single(" \r\n\t{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n ").operation()).isEqualTo("mcp:ping");
    }

    @Test
    void unicodeEscapesAreDecodedBeforeMatching() throws Exception {
        // "na\u006De" is the key "name", and the escaped tool name is the tool name.
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools\\u002Fcall\","
                + "\"params\":{\"na\\u006De\":\"delete\\u005frepo\"}}");
        assertThat(m.method()).isEqualTo("tools/call");
        assertThat(m.operation()).isEqualTo("mcp:tools/call:delete_repo");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Delete_Repo", "delete_repo ", " delete_repo", "delete\uFF3Frepo", "de\u0301lete_repo", "удалить"})
    void toolNamesAreKeptExactlyNeverNormalized(String name) throws Exception {
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\"}}");
        assertThat(m.tool()).isEqualTo(name);
        assertThat(m.operation()).isEqualTo("mcp:tools/call:" + name);
    }

    @Test
    void largeIntegerAndStringIdsAreKept() throws Exception {
        assertThat(single("{\"jsonrpc\":\"2.0\",\"id\":123456789012345678901234567890,\"method\":\"ping\"}").id().bigIntegerValue())
                .hasToString("123456789012345678901234567890");
        assertThat(single("{\"jsonrpc\":\"2.0\",\"id\":\"\",\"method\":\"ping\"}").id().textValue()).isEmpty();
        assertThat(single("{\"jsonrpc\":\"2.0\",\"id\":-3,\"method\":\"ping\"}").id().intValue()).isEqualTo(-3);
    }

    @Test
    void limitsAreInclusive() throws Exception {
        McpParser small = new McpParser(4096, 4, 16);
        // depth 4: message, params, arguments, one object inside
        McpMessage m = parse(small, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                + "{\"name\":\"echo\",\"arguments\":{\"a\":{\"b\":1}}}}").messages().get(0);
        assertThat(m.arguments().at("/a/b").intValue()).isEqualTo(1);
        String sixteen = "x".repeat(16);
        assertThat(parse(small, "{\"jsonrpc\":\"2.0\",\"id\":\"" + sixteen + "\",\"method\":\"ping\"}")
                .messages().get(0).id().textValue()).isEqualTo(sixteen);
        String body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
        McpParser exact = new McpParser(body.length(), 4, 16);
        assertThat(parse(exact, body).messages()).hasSize(1);
    }

    // ---- hostile bodies: code and reason ----

    static Stream<Arguments> refused() {
        String ok = "\"jsonrpc\":\"2.0\",\"id\":1,";
        return Stream.of(
                // not JSON
                arguments("", PARSE_ERROR, "empty"),
                arguments("   \n ", PARSE_ERROR, "no JSON value"),
                arguments("{\"jsonrpc\":\"2.0\",", PARSE_ERROR, "not valid JSON"),
                arguments("{'jsonrpc':'2.0','id':1,'method':'ping'}", PARSE_ERROR, "not valid JSON at line 1, column 2"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",}", PARSE_ERROR, "not valid JSON"),
                arguments("{\"jsonrpc\":\"2.0\",/*c*/\"id\":1,\"method\":\"ping\"}", PARSE_ERROR, "not valid JSON"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":NaN,\"method\":\"ping\"}", PARSE_ERROR, "not valid JSON"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":01,\"method\":\"ping\"}", PARSE_ERROR, "not valid JSON"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\u0001ng\"}", PARSE_ERROR, "not valid JSON"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"\n\"x\":1}", PARSE_ERROR, "line 2, column 1"),
                // trailing data
                arguments("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} x", PARSE_ERROR, "data after the JSON value"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"delete_repo\"}}",
                        PARSE_ERROR, "data after the JSON value at line 1, column"),
                arguments("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]]", PARSE_ERROR, "data after the JSON value"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\u0000", PARSE_ERROR, "data after the JSON value"),
                // JSON, but no request
                arguments("\"tools/call\"", INVALID_REQUEST, "JSON string"),
                arguments("42", INVALID_REQUEST, "JSON number"),
                arguments("null", INVALID_REQUEST, "JSON null"),
                arguments("true", INVALID_REQUEST, "JSON boolean"),
                arguments("[]", INVALID_REQUEST, "empty batch"),
                arguments("[1]", INVALID_REQUEST, "batch[0]: not a JSON object"),
                arguments("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},[]]", INVALID_REQUEST, "batch[1]: not a JSON object"),
                arguments("[[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]]", INVALID_REQUEST, "batch[0]: not a JSON object"),
                // jsonrpc
                arguments("{\"id\":1,\"method\":\"ping\"}", INVALID_REQUEST, "\"jsonrpc\" missing"),
                arguments("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", INVALID_REQUEST, "\"jsonrpc\" is not \"2.0\""),
                arguments("{\"jsonrpc\":2.0,\"id\":1,\"method\":\"ping\"}", INVALID_REQUEST, "\"jsonrpc\" is not \"2.0\""),
                arguments("{\"jsonrpc\":\"2.0 \",\"id\":1,\"method\":\"ping\"}", INVALID_REQUEST, "\"jsonrpc\" is not \"2.0\""),
                arguments("{\"jsonrpc\":null,\"id\":1,\"method\":\"ping\"}", INVALID_REQUEST, "\"jsonrpc\" is not \"2.0\""),
                // method
                arguments("{" + ok + "\"params\":{}}", INVALID_REQUEST, "\"method\" missing"),
                arguments("{" + ok + "\"method\":7}", INVALID_REQUEST, "\"method\" is not a string"),
                arguments("{" + ok + "\"method\":null}", INVALID_REQUEST, "\"method\" is not a string"),
                arguments("{" + ok + "\"method\":[\"ping\"]}", INVALID_REQUEST, "\"method\" is not a string"),
                arguments("{" + ok + "\"method\":\"\"}", INVALID_REQUEST, "\"method\" is empty"),
                arguments("{" + ok + "\"method\":\"ping\\n\"}", INVALID_REQUEST, "\"method\" contains the control or format character U+000A"),
                arguments("{" + ok + "\"method\":\"ping\",\"result\":{}}", INVALID_REQUEST, "must not have \"result\" or \"error\""),
                // id
                arguments("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", INVALID_REQUEST, "\"id\" is null"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", INVALID_REQUEST, "\"id\" is not a string or an integer"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", INVALID_REQUEST, "\"id\" is not a string or an integer"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}", INVALID_REQUEST, "\"id\" is not a string or an integer"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", INVALID_REQUEST, "\"id\" is not a string or an integer"),
                // params shape
                arguments("{" + ok + "\"method\":\"ping\",\"params\":\"x\"}", INVALID_REQUEST, "\"params\" is not an object or array"),
                arguments("{" + ok + "\"method\":\"ping\",\"params\":null}", INVALID_REQUEST, "\"params\" is not an object or array"),
                // responses
                arguments("{\"jsonrpc\":\"2.0\",\"result\":{}}", INVALID_REQUEST, "a response without \"id\""),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1}}", INVALID_REQUEST, "\"id\" is null"),
                arguments("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", INVALID_REQUEST, "not both"),
                // duplicate keys anywhere: top level, params, arguments, inside a batch
                arguments("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"method\":\"tools/call\"}", INVALID_REQUEST, "duplicate key"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues\",\"name\":\"delete_repo\"}}", INVALID_REQUEST, "duplicate key"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"search_issues\",\"na\\u006de\":\"delete_repo\"}}", INVALID_REQUEST, "duplicate key"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"x\":{\"repo\":\"a\",\"repo\":\"b\"}}}}", INVALID_REQUEST, "duplicate key"),
                arguments("[{" + ok + "\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"id\":3,\"method\":\"ping\"}]", INVALID_REQUEST, "duplicate key in a JSON object at line 1, column"),
                arguments("{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", INVALID_REQUEST, "parsers disagree"),
                // tools/call params
                arguments("{" + ok + "\"method\":\"tools/call\"}", INVALID_PARAMS, "tools/call: \"params\" missing or not an object"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":[\"delete_repo\"]}", INVALID_PARAMS, "tools/call: \"params\" missing or not an object"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{}}", INVALID_PARAMS, "tools/call: \"params.name\" missing or not a string"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":null}}", INVALID_PARAMS, "\"params.name\" missing or not a string"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":[\"delete_repo\"]}}", INVALID_PARAMS, "\"params.name\" missing or not a string"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":1}}", INVALID_PARAMS, "\"params.name\" missing or not a string"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"\"}}", INVALID_PARAMS, "\"params.name\" is empty"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":[1]}}", INVALID_PARAMS, "\"params.arguments\" is not an object"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":\"{}\"}}", INVALID_PARAMS, "\"params.arguments\" is not an object"),
                // names that attack log and audit output
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\\u0000delete_repo\"}}", INVALID_PARAMS, "U+0000 at index 4"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\\r\\n{\\\"decision\\\":\\\"ALLOW\\\"}\"}}", INVALID_PARAMS, "U+000D"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\\u001b[2K\"}}", INVALID_PARAMS, "U+001B"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\\u007f\"}}", INVALID_PARAMS, "U+007F"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\\u0085\"}}", INVALID_PARAMS, "U+0085"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"oper\\u202Eoper_eteled\"}}", INVALID_PARAMS, "U+202E"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"delete\\u200Brepo\"}}", INVALID_PARAMS, "U+200B"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\\u2028\"}}", INVALID_PARAMS, "U+2028"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\\ud800\"}}", INVALID_PARAMS, "U+D800"),
                arguments("{" + ok + "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\\ufeff\"}}", INVALID_PARAMS, "U+FEFF"),
                // resources/read params
                arguments("{" + ok + "\"method\":\"resources/read\"}", INVALID_PARAMS, "resources/read: \"params\" missing"),
                arguments("{" + ok + "\"method\":\"resources/read\",\"params\":{\"name\":\"x\"}}", INVALID_PARAMS, "resources/read: \"params.uri\" missing or not a string"),
                arguments("{" + ok + "\"method\":\"resources/read\",\"params\":{\"uri\":{\"href\":\"x\"}}}", INVALID_PARAMS, "\"params.uri\" missing or not a string"),
                arguments("{" + ok + "\"method\":\"resources/read\",\"params\":{\"uri\":\"\"}}", INVALID_PARAMS, "\"params.uri\" is empty"),
                arguments("{" + ok + "\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///a\\n\"}}", INVALID_PARAMS, "U+000A"),
                // prompts/get params
                arguments("{" + ok + "\"method\":\"prompts/get\",\"params\":{}}", INVALID_PARAMS, "prompts/get: \"params.name\" missing or not a string"),
                arguments("{" + ok + "\"method\":\"prompts/get\",\"params\":{\"name\":false}}", INVALID_PARAMS, "prompts/get: \"params.name\" missing or not a string"),
                arguments("{" + ok + "\"method\":\"prompts/get\",\"params\":{\"name\":\"triage\",\"arguments\":[]}}", INVALID_PARAMS, "\"params.arguments\" is not an object"),
                // a bad message in a batch refuses the whole batch, and says which one
                arguments("[{" + ok + "\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{}}]",
                        INVALID_PARAMS, "batch[1]: tools/call: \"params.name\" missing"),
                arguments("[{" + ok + "\"method\":\"ping\"},{\"id\":2,\"method\":\"ping\"}]", INVALID_REQUEST, "batch[1]: \"jsonrpc\" missing"));
    }

    @ParameterizedTest
    @MethodSource
    void refused(String body, int code, String reason) {
        assertThatThrownBy(() -> parse(body))
                .isInstanceOfSatisfying(McpParseException.class, e -> {
                    assertThat(e.code()).as("code for %s (reason %s)", body, e.reason()).isEqualTo(code);
                    assertThat(e.reason()).contains(reason);
                });
    }

    @Test
    void reasonsNeverEchoTheRefusedValue() {
        String body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\\n{\\\"decision\\\":\\\"ALLOW\\\"}\"}}";
        assertThatThrownBy(() -> parse(body)).isInstanceOfSatisfying(McpParseException.class,
                e -> assertThat(e.reason()).doesNotContain("ALLOW").doesNotContain("\n"));
        String dup = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"secret_key_name\":1,\"secret_key_name\":2}";
        assertThatThrownBy(() -> parse(dup)).isInstanceOfSatisfying(McpParseException.class,
                e -> assertThat(e.reason()).doesNotContain("secret_key_name"));
        String garbage = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} \u001b]0;owned\u0007";
        assertThatThrownBy(() -> parse(garbage)).isInstanceOfSatisfying(McpParseException.class,
                e -> assertThat(e.reason()).doesNotContain("owned").doesNotContain("\u001b"));
    }

    @Test
    void errorCarriesTheIdOfASingleRequestSoTheAnswerCanEchoIt() {
        assertThatThrownBy(() -> parse("{\"jsonrpc\":\"2.0\",\"id\":\"r-7\",\"method\":\"tools/call\",\"params\":{}}"))
                .isInstanceOfSatisfying(McpParseException.class, e -> {
                    assertThat(e.code()).isEqualTo(INVALID_PARAMS);
                    assertThat(e.id().textValue()).isEqualTo("r-7");
                });
        // no id to echo: an invalid id, a batch, a parse error
        for (String body : List.of("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
                "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}]",
                "{\"jsonrpc\":\"2.0\",\"id\":1,")) {
            assertThatThrownBy(() -> parse(body)).isInstanceOfSatisfying(McpParseException.class,
                    e -> assertThat(e.id()).as(body).isNull());
        }
    }

    @Test
    void bodyLargerThanTheLimitIsRefusedBeforeParsing() {
        McpParser small = new McpParser(64, 32, 1024);
        String body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}";
        assertThat(body.length()).isGreaterThan(64);
        assertThatThrownBy(() -> parse(small, body)).isInstanceOfSatisfying(McpParseException.class, e -> {
            assertThat(e.code()).isEqualTo(INVALID_REQUEST);
            assertThat(e.reason()).isEqualTo("body of " + body.length() + " bytes is larger than the limit of 64 bytes"
                    + " (the route's mcp.limits.maxBodyBytes)");
        });
        // Even a body that is not JSON at all: the size is checked first.
        byte[] junk = new byte[65];
        assertThatThrownBy(() -> small.parse(junk, 0, junk.length))
                .isInstanceOfSatisfying(McpParseException.class, e -> assertThat(e.reason()).contains("larger than the limit"));
    }

    @Test
    void aBatchLargerThanTheLimitIsRefusedNamingIt() throws Exception {
        McpParser two = new McpParser(1 << 20, 32, 1024, 2);
        String one = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
        assertThatThrownBy(() -> parse(two, "[" + one + "," + one + "," + one + "]"))
                .isInstanceOfSatisfying(McpParseException.class, e -> {
                    assertThat(e.code()).isEqualTo(INVALID_REQUEST);
                    assertThat(e.reason()).isEqualTo("a batch of 3 messages (expected: at most 2, the route's"
                            + " mcp.limits.maxBatch)");
                });
        assertThat(parse(two, "[" + one + "," + one + "]").messages()).hasSize(2);
    }

    @Test
    void nestingDeeperThanTheLimitIsRefused() {
        McpParser shallow = new McpParser(1 << 20, 4, 1024);
        String body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                + "{\"name\":\"echo\",\"arguments\":{\"a\":{\"b\":{\"c\":1}}}}}";
        assertThatThrownBy(() -> parse(shallow, body)).isInstanceOfSatisfying(McpParseException.class, e -> {
            assertThat(e.code()).isEqualTo(INVALID_REQUEST);
            assertThat(e.reason()).startsWith("JSON nested deeper than 4 levels (the route's mcp.limits.maxDepth) at"
                    + " line 1");
        });
        // The default limit against a classic stack-exhaustion body.
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        assertThatThrownBy(() -> parse(deep)).isInstanceOfSatisfying(McpParseException.class, e -> {
            assertThat(e.code()).isEqualTo(INVALID_REQUEST);
            assertThat(e.reason()).startsWith("JSON nested deeper than 32 levels");
        });
        String deepArgs = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":"
                + "{\"a\":".repeat(40) + "1" + "}".repeat(40) + "}}";
        assertThatThrownBy(() -> parse(deepArgs)).isInstanceOfSatisfying(McpParseException.class,
                e -> assertThat(e.reason()).startsWith("JSON nested deeper than 32 levels"));
    }

    @Test
    void stringsLongerThanTheLimitAreRefused() {
        McpParser small = new McpParser(1 << 20, 32, 16);
        String value = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + "x".repeat(17) + "\"}}";
        assertThatThrownBy(() -> parse(small, value)).isInstanceOfSatisfying(McpParseException.class, e -> {
            assertThat(e.code()).isEqualTo(INVALID_REQUEST);
            assertThat(e.reason()).startsWith("a JSON string longer than 16 characters");
        });
        String key = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"" + "k".repeat(17) + "\":1}";
        assertThatThrownBy(() -> parse(small, key)).isInstanceOfSatisfying(McpParseException.class, e -> {
            assertThat(e.code()).isEqualTo(INVALID_REQUEST);
            assertThat(e.reason()).startsWith("a JSON key longer than 16 characters");
        });
        // The default: 256 Ki characters, in the arguments too.
        String big = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\""
                + "y".repeat(McpParser.DEFAULT_MAX_STRING_CHARS + 1) + "\"}}}";
        assertThatThrownBy(() -> parse(big)).isInstanceOfSatisfying(McpParseException.class,
                e -> assertThat(e.reason()).startsWith("a JSON string longer than 262144 characters"));
    }

    @Test
    void numbersLongerThanTheLimitAreRefused() {
        String body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"n\":"
                + "9".repeat(McpParser.MAX_NUMBER_CHARS + 1) + "}}}";
        assertThatThrownBy(() -> parse(body)).isInstanceOfSatisfying(McpParseException.class, e -> {
            assertThat(e.code()).isEqualTo(INVALID_REQUEST);
            assertThat(e.reason()).startsWith("a JSON number longer than 100 characters");
        });
    }

    @Test
    void onlyUtf8WithoutByteOrderMarkIsRead() {
        String json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"delete_repo\"}}";
        byte[] utf16 = json.getBytes(StandardCharsets.UTF_16BE);
        byte[] utf16le = json.getBytes(StandardCharsets.UTF_16LE);
        byte[] utf16bom = json.getBytes(StandardCharsets.UTF_16); // with BOM FE FF
        byte[] utf8 = json.getBytes(UTF_8);
        byte[] utf8bom = new byte[utf8.length + 3];
        utf8bom[0] = (byte) 0xEF;
        utf8bom[1] = (byte) 0xBB;
        utf8bom[2] = (byte) 0xBF;
        System.arraycopy(utf8, 0, utf8bom, 3, utf8.length);
        for (byte[] body : List.of(utf16, utf16le, utf16bom, utf8bom)) {
            assertThatThrownBy(() -> parser.parse(body, 0, body.length))
                    .isInstanceOfSatisfying(McpParseException.class, e -> {
                        assertThat(e.code()).isEqualTo(PARSE_ERROR);
                        assertThat(e.reason()).containsAnyOf("byte order mark", "not UTF-16");
                    });
        }
        // Bytes that are not UTF-8 inside a string.
        byte[] latin1 = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"caf\u00e9\"}}"
                .getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> parser.parse(latin1, 0, latin1.length))
                .isInstanceOfSatisfying(McpParseException.class, e -> {
                    assertThat(e.code()).isEqualTo(PARSE_ERROR);
                    assertThat(e.reason()).contains("not valid JSON");
                });
    }

    @Test
    void argumentsAreTheParsedSubtreeNotACopy() throws Exception {
        // Documented cost: no second parse, no copy; the node is the one inside the tree.
        McpMessage m = single("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"x\":1}}}");
        JsonNode arguments = m.arguments();
        assertThat(arguments.isObject()).isTrue();
        assertThat(arguments.size()).isEqualTo(1);
    }

    @Test
    void rejectsBadArgumentsAndLimits() {
        byte[] body = new byte[4];
        assertThatThrownBy(() -> parser.parse(null, 0, 0)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> parser.parse(body, 2, 3)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> parser.parse(body, -1, 1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> new McpParser(0, 32, 10)).hasMessage("maxBytes: 0 (expected: > 0)");
        assertThatThrownBy(() -> new McpParser(10, -1, 10)).hasMessage("maxDepth: -1 (expected: > 0)");
        assertThatThrownBy(() -> new McpParser(10, 32, 0)).hasMessage("maxStringChars: 0 (expected: > 0)");
    }

    @Test
    void recordsRejectContradictions() {
        JsonNode id = com.fasterxml.jackson.databind.node.IntNode.valueOf(1);
        assertThatThrownBy(() -> new McpMessage(id, "ping", null, null, null, true)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new McpMessage(null, "ping", null, null, null, false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new McpMessage(id, "tools/call", null, null, null, false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new McpMessage(id, "resources/read", null, null, null, false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new McpMessage(id, null, "x", null, null, false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new McpRequest(List.of(), true)).isInstanceOf(IllegalArgumentException.class);
        McpMessage ping = new McpMessage(id, "ping", null, null, null, false);
        assertThatThrownBy(() -> new McpRequest(List.of(ping, ping), false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new McpParseException(-32000, "x", null)).isInstanceOf(IllegalArgumentException.class);
    }

    // ---- Content-Type ----

    @ParameterizedTest
    @ValueSource(strings = {"application/json", "Application/JSON", "application/json; charset=utf-8",
            "application/json;charset=UTF-8", "application/json ; charset=\"utf-8\"", "  application/json  ",
            "application/json;", "application/json; profile=x"})
    void jsonContentTypes(String contentType) {
        assertThat(McpParser.isMcpJson(contentType)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "text/plain", "application/jsonx", "application/json-seq", "application/x-json",
            "application/json; charset=utf-16", "application/json; charset=iso-8859-1", "text/event-stream",
            "application/json/x", "application/json; garbage", "multipart/form-data; boundary=application/json"})
    void otherContentTypes(String contentType) {
        assertThat(McpParser.isMcpJson(contentType)).isFalse();
    }

    @Test
    void noContentType() {
        assertThat(McpParser.isMcpJson(null)).isFalse();
    }
}
