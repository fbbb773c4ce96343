package dev.toolgate.mcp;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.mcp.ToolsListRewriter.Head;
import dev.toolgate.mcp.ToolsListRewriter.Pass;
import dev.toolgate.mcp.ToolsListRewriter.Refused;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The {@code tools/list} answer read and rewritten without a network: JSON held and sent whole, an event stream
 * rewritten event by event however it is cut and whatever its line endings, every other event byte for byte, and
 * anything unreadable or too large refused when the route filters (only noted when it records).
 */
class ToolsListRewriterTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int MAX = 64 << 10;
    static final String SEARCH = tool("search_issues", "Search");
    static final String DELETE = tool("delete_repo", "Delete");

    static String tool(String name, String description) {
        return "{\"name\":\"" + name + "\",\"description\":\"" + description
                + "\",\"inputSchema\":{\"type\":\"object\"}}";
    }

    static String listed(int id, String... tools) {
        return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"tools\":[" + String.join(",", tools) + "]}}";
    }

    /** Watches the answer to a tools/list with id 7; filtering to search_issues, or recording only. */
    static ToolsList watching(boolean filter) throws McpParseException {
        byte[] req = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}".getBytes(UTF_8);
        return ToolsList.watching(new McpParser().parse(req, 0, req.length),
                filter ? Set.of("search_issues")::contains : null);
    }

    static ToolsListRewriter rewriter(boolean filter, String contentType, Head expected) throws Exception {
        ToolsListRewriter r = ToolsListRewriter.of(watching(filter), MAX);
        assertThat(r.head(200, contentType)).isEqualTo(expected);
        return r;
    }

    /** Feeds the parts (the last one marked so) and returns all the rewriter passed on. */
    static String run(ToolsListRewriter r, List<byte[]> parts) throws Refused {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < parts.size(); i++) {
            Pass pass = r.feed(parts.get(i), i == parts.size() - 1);
            out.writeBytes(pass.unchanged() ? parts.get(i) : pass.bytes());
        }
        return out.toString(UTF_8);
    }

    static List<byte[]> cut(String s, int... at) {
        byte[] b = s.getBytes(UTF_8);
        List<byte[]> parts = new ArrayList<>();
        int from = 0;
        for (int a : at) {
            parts.add(Arrays.copyOfRange(b, from, a));
            from = a;
        }
        parts.add(Arrays.copyOfRange(b, from, b.length));
        return parts;
    }

    static List<String> names(String json) throws Exception {
        return JSON.readTree(json).at("/result/tools").findValuesAsText("name");
    }

    @Test
    void aFilteredJsonAnswerIsHeldAndSentWholeWithOnlyTheVisibleTools() throws Exception {
        String body = listed(7, SEARCH, DELETE);
        for (int at = 0; at <= body.length(); at++) {
            ToolsListRewriter r = rewriter(true, "application/json; charset=utf-8", Head.HOLD);
            List<byte[]> parts = cut(body, at);
            Pass first = r.feed(parts.get(0), false);
            assertThat(first.unchanged()).isFalse();
            assertThat(first.bytes()).isEmpty(); // nothing goes before the answer is whole
            String out = new String(r.feed(parts.get(1), true).bytes(), UTF_8);
            assertThat(names(out)).containsExactly("search_issues");
            assertThat(r.tools().digests()).containsOnlyKeys("search_issues", "delete_repo");
            assertThat(r.tools().hidden()).isEqualTo(1);
        }
    }

    @Test
    void aJsonAnswerThatHidesNothingGoesAsItCame() throws Exception {
        String body = listed(7, SEARCH);
        ToolsListRewriter r = rewriter(true, "application/json", Head.HOLD);
        assertThat(run(r, cut(body, 10))).isEqualTo(body);
        assertThat(r.tools().hidden()).isZero();
    }

    @Test
    void aRecordedJsonAnswerPassesPartByPartAndIsDigested() throws Exception {
        String body = listed(7, SEARCH, DELETE);
        ToolsListRewriter r = rewriter(false, "application/json", Head.SEND);
        List<byte[]> parts = cut(body, 5, 50);
        for (int i = 0; i < parts.size(); i++) {
            assertThat(r.feed(parts.get(i), i == parts.size() - 1).unchanged()).isTrue();
        }
        assertThat(r.tools().digests()).containsOnlyKeys("search_issues", "delete_repo");
        assertThat(r.note()).isNull();
    }

    @Test
    void duplicateKeysAreRefusedWhenFilteringAndNotedWhenRecording() throws Exception {
        // One JSON parser reads the first "result", another the last.
        String twoResults = "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[]},\"result\":{\"tools\":["
                + DELETE + "]}}";
        assertThatThrownBy(() -> run(rewriter(true, "application/json", Head.HOLD), cut(twoResults, 20)))
                .isInstanceOf(Refused.class).hasMessageContaining("not JSON the sidecar can read");
        assertThatThrownBy(() -> run(rewriter(true, "text/event-stream", Head.SEND_WITHOUT_LENGTH),
                cut("event: message\ndata: " + twoResults + "\n\n", 20)))
                .isInstanceOf(Refused.class).hasMessageContaining("not JSON the sidecar can read");

        ToolsListRewriter open = rewriter(false, "application/json", Head.SEND);
        assertThat(run(open, cut(twoResults, 20))).isEqualTo(twoResults);
        assertThat(open.note()).contains("not JSON the sidecar can read");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[", "not json", "{} {}"})
    void anUnreadableJsonAnswerIsRefusedWhenFiltering(String body) throws Exception {
        ToolsListRewriter r = rewriter(true, "application/json", Head.HOLD);
        assertThatThrownBy(() -> r.feed(body.getBytes(UTF_8), true)).isInstanceOf(Refused.class);
    }

    @Test
    void anAnswerOverTheBoundIsRefusedWhenFilteringAndNotedWhenRecording() throws Exception {
        String big = listed(7, SEARCH, tool("padding", "x".repeat(MAX)));
        assertThatThrownBy(() -> run(rewriter(true, "application/json", Head.HOLD), cut(big, MAX / 2)))
                .isInstanceOf(Refused.class).hasMessageContaining("larger than " + MAX);
        String event = "data: " + big + "\n\n";
        assertThatThrownBy(() -> run(rewriter(true, "text/event-stream", Head.SEND_WITHOUT_LENGTH),
                cut(event, MAX / 2))).isInstanceOf(Refused.class).hasMessageContaining("larger than " + MAX);

        ToolsListRewriter json = rewriter(false, "application/json", Head.SEND);
        assertThat(run(json, cut(big, MAX / 2))).isEqualTo(big);
        assertThat(json.note()).contains("larger than " + MAX);
        ToolsListRewriter sse = rewriter(false, "text/event-stream", Head.SEND);
        String stream = event + "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}\n\n";
        assertThat(run(sse, cut(stream, MAX / 2, MAX + 100))).isEqualTo(stream);
        assertThat(sse.note()).contains("larger than " + MAX);
    }

    @Test
    void anotherContentTypeIsRefusedWhenFilteringAndPassesWhenRecording() throws Exception {
        ToolsListRewriter filtering = ToolsListRewriter.of(watching(true), MAX);
        assertThatThrownBy(() -> filtering.head(200, "text/plain")).isInstanceOf(Refused.class)
                .hasMessageContaining("text/plain");
        assertThatThrownBy(() -> ToolsListRewriter.of(watching(true), MAX).head(200, null))
                .isInstanceOf(Refused.class).hasMessageContaining("no content type");

        ToolsListRewriter open = rewriter(false, "text/plain", Head.SEND);
        assertThat(open.passingThrough()).isTrue();
        assertThat(open.feed(DELETE.getBytes(UTF_8), true).unchanged()).isTrue();
    }

    @Test
    void anAnswerOtherThan200PassesAsItCame() throws Exception {
        ToolsListRewriter r = ToolsListRewriter.of(watching(true), MAX);
        assertThat(r.head(404, "text/plain")).isEqualTo(Head.SEND);
        assertThat(r.feed("not found".getBytes(UTF_8), true).unchanged()).isTrue();
    }

    /** A notification, the answer, and an event after it, in the given line ending. */
    static String stream(String eol) {
        String notice = "event: message" + eol + "id: 1" + eol + "data: {\"jsonrpc\":\"2.0\",\"method\":"
                + "\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"delete_repo\"}}" + eol + eol;
        String answer = "event: message" + eol + "id: 2" + eol + "data: " + listed(7, SEARCH, DELETE,
                "{\"description\":\"no name\"}") + eol + eol;
        String after = ": a comment" + eol + "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}"
                + eol + eol;
        return notice + "\u0000" + answer + "\u0000" + after;
    }

    @ParameterizedTest
    @ValueSource(strings = {"\r\n", "\n", "\r"})
    void anEventStreamIsRewrittenEventByEventHoweverItIsCut(String eol) throws Exception {
        String[] events = stream(eol).split("\u0000");
        String whole = String.join("", events);
        for (int at = 0; at <= whole.length(); at++) {
            ToolsListRewriter r = rewriter(true, "text/event-stream", Head.SEND_WITHOUT_LENGTH);
            String out = run(r, cut(whole, at));
            assertRewritten(out, events);
            assertThat(r.tools().hidden()).as("cut at %d", at).isEqualTo(2);
        }
        // And a byte at a time.
        ToolsListRewriter r = rewriter(true, "text/event-stream", Head.SEND_WITHOUT_LENGTH);
        int[] every = new int[whole.length() - 1];
        Arrays.setAll(every, i -> i + 1);
        assertRewritten(run(r, cut(whole, every)), events);
    }

    private static void assertRewritten(String out, String[] events) throws Exception {
        // The notification and the event after the answer go byte for byte; the answer keeps its other fields.
        assertThat(out).startsWith(events[0]).endsWith(events[2]);
        String rewritten = out.substring(events[0].length(), out.length() - events[2].length());
        assertThat(rewritten).startsWith("event: message\nid: 2\ndata: ").endsWith("\n\n");
        assertThat(names(rewritten.substring(rewritten.indexOf("data: ") + 6).strip()))
                .containsExactly("search_issues");
    }

    @ParameterizedTest
    @ValueSource(strings = {"\r\n", "\n", "\r"})
    void aRecordedEventStreamPassesByteForByteHoweverItIsCut(String eol) throws Exception {
        String whole = stream(eol).replace("\u0000", "");
        for (int at = 0; at <= whole.length(); at++) {
            ToolsListRewriter r = rewriter(false, "text/event-stream", Head.SEND);
            assertThat(run(r, cut(whole, at))).isEqualTo(whole);
            assertThat(r.tools().digests()).containsOnlyKeys("search_issues", "delete_repo");
        }
    }

    @Test
    void eventsThatAnswerNothingWatchedPassUntouched() throws Exception {
        String other = "retry: 1000\n\n"
                + ": keep-alive\n\n"
                + "event: message\ndata: " + listed(8, DELETE) + "\n\n" // another request's answer
                + "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,\"message\":\"no\"}}\n\n";
        ToolsListRewriter r = rewriter(true, "text/event-stream", Head.SEND_WITHOUT_LENGTH);
        assertThat(run(r, cut(other, 3, 17, 40))).isEqualTo(other);
        assertThat(r.tools().done()).isTrue(); // the error answered id 7
        assertThat(r.tools().hidden()).isZero();

        // Once the watched request is answered, the rest of the stream passes without being read.
        ToolsListRewriter open = rewriter(true, "text/event-stream", Head.SEND_WITHOUT_LENGTH);
        assertThat(new String(open.feed((other + "data: unread").getBytes(UTF_8), false).bytes(), UTF_8))
                .isEqualTo(other + "data: unread");
        assertThat(open.passingThrough()).isTrue();
        assertThat(open.feed("not json\n\n".getBytes(UTF_8), true).unchanged()).isTrue();
    }

    @Test
    void dataLinesOfOneEventAreReadJoined() throws Exception {
        String json = listed(7, SEARCH, DELETE);
        int mid = json.indexOf("\"result\"");
        String event = "data: " + json.substring(0, mid) + "\ndata:" + json.substring(mid) + "\n\n";
        ToolsListRewriter r = rewriter(true, "text/event-stream", Head.SEND_WITHOUT_LENGTH);
        String out = run(r, cut(event, 1));
        assertThat(names(out.substring("data: ".length()).strip())).containsExactly("search_issues");
    }

    @Test
    void anUnreadableEventIsRefusedWhenFilteringAndPassesWhenRecording() throws Exception {
        String bad = "data: {\"jsonrpc\":\"2.0\",\"id\":7,\n\n";
        assertThatThrownBy(() -> run(rewriter(true, "text/event-stream", Head.SEND_WITHOUT_LENGTH), cut(bad, 4)))
                .isInstanceOf(Refused.class).hasMessageContaining("not JSON the sidecar can read");
        assertThat(run(rewriter(false, "text/event-stream", Head.SEND), cut(bad, 4))).isEqualTo(bad);
    }

    @Test
    void theStreamEndsTheLastEvent() throws Exception {
        String unended = "data: " + listed(7, SEARCH, DELETE);
        String out = run(rewriter(true, "text/event-stream", Head.SEND_WITHOUT_LENGTH), cut(unended, 9));
        assertThat(names(out.substring("data: ".length()).strip())).containsExactly("search_issues");
    }

    @Test
    void aByteBufferIsReadWithoutBeingConsumed() throws Exception {
        ToolsListRewriter r = rewriter(true, "application/json", Head.HOLD);
        ByteBuffer part = ByteBuffer.allocateDirect(256);
        part.put(listed(7, SEARCH).getBytes(UTF_8)).flip();
        int before = part.remaining();
        assertThat(names(new String(r.feed(part, true).bytes(), UTF_8))).containsExactly("search_issues");
        assertThat(part.remaining()).isEqualTo(before);
    }

    @Test
    void callsOutOfOrderAreRejected() throws Exception {
        ToolsListRewriter r = ToolsListRewriter.of(watching(true), MAX);
        assertThatThrownBy(() -> r.feed(new byte[0], true)).isInstanceOf(IllegalStateException.class);
        r.head(200, "application/json");
        assertThatThrownBy(() -> r.head(200, "application/json")).isInstanceOf(IllegalStateException.class);
        r.feed(listed(7, SEARCH).getBytes(UTF_8), true);
        assertThatThrownBy(() -> r.feed(new byte[0], true)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> ToolsListRewriter.of(watching(true), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: > 0");
    }
}
