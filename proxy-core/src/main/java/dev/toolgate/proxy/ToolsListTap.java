package dev.toolgate.proxy;

import dev.toolgate.mcp.ToolsList;
import dev.toolgate.mcp.ToolsListRewriter;
import dev.toolgate.mcp.ToolsListRewriter.Pass;
import dev.toolgate.mcp.ToolsListRewriter.Refused;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * The Netty side of a {@code tools/list} answer on its way to the agent: converts the response head, its body
 * parts and their headers (content type, length, transfer encoding, trailers) to and from the
 * {@link ToolsListRewriter}, which does the reading and rewriting. A refusal is the rewriter's {@link Refused}.
 *
 * <p>Owns every part given to it: passes it on or releases it. Not thread-safe: used on the exchange's event
 * loop; {@link #release()} when the exchange ends.
 */
final class ToolsListTap {
    private final ToolsListRewriter rewriter;
    private final ByteBufAllocator alloc;
    private final boolean http2;
    private HttpResponse held;

    ToolsListTap(ToolsList tools, ByteBufAllocator alloc, int maxBytes, boolean http2) {
        this.rewriter = ToolsListRewriter.of(tools, maxBytes);
        this.alloc = alloc;
        this.http2 = http2;
    }

    /** What happened, for the outcome record: tools seen, hidden, and anything that kept them from being read. */
    ToolsList tools() {
        return rewriter.tools();
    }

    /** Whether the response head is held (nothing sent to the agent yet). */
    boolean holding() {
        return held != null;
    }

    /** Why the answer could not be read (recording only), or null. */
    String note() {
        return rewriter.note();
    }

    /**
     * The response head: returns what to send the agent now, or null when it is held until the body is in.
     * A complete response ({@link FullHttpResponse}) comes back complete, its body inspected. On {@link Refused}
     * the caller still owns {@code res}.
     */
    HttpResponse head(HttpResponse res) throws Refused {
        ToolsListRewriter.Head how = rewriter.head(res.status().code(),
                res.headers().get(HttpHeaderNames.CONTENT_TYPE));
        if (res instanceof FullHttpResponse full) {
            Pass pass = rewriter.feed(full.content().nioBuffer(), true);
            if (pass.unchanged()) {
                return full;
            }
            FullHttpResponse out = full.replace(buffer(pass.bytes()));
            full.release();
            out.trailingHeaders().clear();
            withLength(out, out.content().readableBytes());
            return out;
        }
        return switch (how) {
            case HOLD -> {
                held = res;
                yield null;
            }
            case SEND_WITHOUT_LENGTH -> withoutLength(res);
            case SEND -> res;
        };
    }

    /** An event stream whose events may change length goes on without a declared one. */
    private HttpResponse withoutLength(HttpResponse res) {
        if (res.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            res.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
            if (!http2) {
                res.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            }
        }
        return res;
    }

    /**
     * A part of the body: returns what to send the agent now (for the last part a {@link LastHttpContent},
     * possibly a whole {@link FullHttpResponse} with the held head), or null when nothing goes yet. Takes
     * ownership of {@code content}, also when it throws.
     */
    HttpContent content(HttpContent content) throws Refused {
        if (rewriter.passingThrough()) {
            return content;
        }
        boolean last = content instanceof LastHttpContent;
        Pass pass;
        try {
            pass = rewriter.feed(content.content().nioBuffer(), last);
            if (pass.unchanged()) {
                HttpContent same = content;
                content = null;
                return same;
            }
            byte[] bytes = pass.bytes();
            if (held != null) {
                return last ? whole(bytes) : null;
            }
            if (!last) {
                return bytes.length == 0 ? null : new DefaultHttpContent(buffer(bytes));
            }
            LastHttpContent tail = new DefaultLastHttpContent(buffer(bytes));
            tail.trailingHeaders().set(((LastHttpContent) content).trailingHeaders());
            return tail;
        } finally {
            if (content != null) {
                content.release();
            }
        }
    }

    /** The held head with the whole answer; trailers of a JSON answer are dropped (it goes with its length). */
    private FullHttpResponse whole(byte[] body) {
        FullHttpResponse whole = new DefaultFullHttpResponse(held.protocolVersion(), held.status(), buffer(body));
        whole.headers().set(held.headers());
        withLength(whole, body.length);
        held = null;
        return whole;
    }

    private static void withLength(HttpResponse res, int length) {
        res.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, length);
    }

    private ByteBuf buffer(byte[] bytes) {
        return alloc.buffer(bytes.length).writeBytes(bytes);
    }

    /** Frees what is held; the exchange ended early. */
    void release() {
        held = null;
        rewriter.discard();
    }
}
