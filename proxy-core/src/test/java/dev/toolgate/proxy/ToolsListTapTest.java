package dev.toolgate.proxy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.mcp.McpParser;
import dev.toolgate.mcp.ToolsList;
import dev.toolgate.mcp.ToolsListRewriter;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The Netty side of a {@code tools/list} answer: heads held or sent without their length, parts turned into
 * buffers and back, trailers kept on a stream, and every buffer given to the tap released or passed on.
 */
class ToolsListTapTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
    static final String ANSWER = "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"search_issues\"},"
            + "{\"name\":\"delete_repo\"}]}}";

    static ToolsListTap tap(boolean http2) throws Exception {
        byte[] req = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}".getBytes(UTF_8);
        ToolsList tools = ToolsList.watching(new McpParser().parse(req, 0, req.length),
                Set.of("search_issues")::contains);
        return new ToolsListTap(tools, ALLOC, 1 << 20, http2);
    }

    static HttpResponse head(String type) {
        HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type).setInt(HttpHeaderNames.CONTENT_LENGTH, 999);
        return res;
    }

    static HttpContent part(String s) {
        return new DefaultHttpContent(ALLOC.buffer().writeBytes(s.getBytes(UTF_8)));
    }

    static LastHttpContent last(String s) {
        return new DefaultLastHttpContent(ALLOC.buffer().writeBytes(s.getBytes(UTF_8)));
    }

    static String text(HttpContent c) {
        try {
            return c.content().toString(UTF_8);
        } finally {
            c.release();
        }
    }

    static List<String> names(String json) throws Exception {
        return JSON.readTree(json).at("/result/tools").findValuesAsText("name");
    }

    @Test
    void aJsonAnswerIsHeldThenSentWholeWithItsNewLength() throws Exception {
        ToolsListTap tap = tap(false);
        HttpResponse res = head("application/json");
        res.headers().set(HttpHeaderNames.TRANSFER_ENCODING, "chunked");
        assertThat(tap.head(res)).isNull();
        assertThat(tap.holding()).isTrue();
        HttpContent first = part(ANSWER.substring(0, 30));
        assertThat(tap.content(first)).isNull();
        assertThat(first.refCnt()).isZero();
        LastHttpContent rest = last(ANSWER.substring(30));
        HttpContent out = tap.content(rest);
        assertThat(rest.refCnt()).isZero();
        assertThat(out).isInstanceOf(FullHttpResponse.class);
        FullHttpResponse whole = (FullHttpResponse) out;
        assertThat(whole.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)).isFalse();
        assertThat(whole.headers().getInt(HttpHeaderNames.CONTENT_LENGTH))
                .isEqualTo(whole.content().readableBytes());
        assertThat(names(text(whole))).containsExactly("search_issues");
        assertThat(tap.holding()).isFalse();
        assertThat(tap.tools().hidden()).isEqualTo(1);
    }

    @Test
    void anEventStreamGoesWithoutItsLengthAndKeepsItsTrailers() throws Exception {
        for (boolean http2 : new boolean[] {false, true}) {
            ToolsListTap tap = tap(http2);
            HttpResponse res = head("text/event-stream");
            assertThat(tap.head(res)).isSameAs(res);
            assertThat(res.headers().contains(HttpHeaderNames.CONTENT_LENGTH)).isFalse();
            assertThat(res.headers().get(HttpHeaderNames.TRANSFER_ENCODING)).isEqualTo(http2 ? null : "chunked");

            String event = "event: message\r\ndata: " + ANSWER + "\r\n\r\n";
            assertThat(tap.content(part(event.substring(0, 10)))).isNull(); // a partial event waits
            LastHttpContent end = last(event.substring(10));
            end.trailingHeaders().set("x-trailer", "kept");
            HttpContent out = tap.content(end);
            assertThat(end.refCnt()).isZero();
            assertThat(out).isInstanceOf(LastHttpContent.class);
            assertThat(((LastHttpContent) out).trailingHeaders().get("x-trailer")).isEqualTo("kept");
            String rewritten = text(out);
            assertThat(rewritten).startsWith("event: message\ndata: ");
            assertThat(names(rewritten.substring(rewritten.indexOf("data: ") + 6).strip()))
                    .containsExactly("search_issues");
        }
    }

    @Test
    void aRefusedPartIsReleased() throws Exception {
        ToolsListTap tap = tap(false);
        tap.head(head("application/json"));
        LastHttpContent bad = last("{\"id\":7,\"result\":{},\"result\":{}}");
        assertThatThrownBy(() -> tap.content(bad)).isInstanceOf(ToolsListRewriter.Refused.class);
        assertThat(bad.refCnt()).isZero();
        tap.release();
    }

    @Test
    void aCompleteResponseComesBackCompleteWithItsNewLength() throws Exception {
        ToolsListTap tap = tap(true);
        FullHttpResponse full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                ALLOC.buffer().writeBytes(ANSWER.getBytes(UTF_8)));
        full.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        HttpResponse out = tap.head(full);
        assertThat(full.refCnt()).isZero();
        FullHttpResponse replaced = (FullHttpResponse) out;
        assertThat(replaced.headers().getInt(HttpHeaderNames.CONTENT_LENGTH))
                .isEqualTo(replaced.content().readableBytes());
        assertThat(names(text(replaced))).containsExactly("search_issues");
    }

    @Test
    void anotherAnswerPassesAsTheSameObjects() throws Exception {
        ToolsListTap tap = tap(false);
        HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND);
        assertThat(tap.head(res)).isSameAs(res);
        LastHttpContent body = new DefaultLastHttpContent(Unpooled.copiedBuffer("no", UTF_8));
        assertThat(tap.content(body)).isSameAs(body);
        assertThat(text(body)).isEqualTo("no");
    }
}
