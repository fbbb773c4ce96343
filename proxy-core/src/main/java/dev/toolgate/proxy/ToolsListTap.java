package dev.toolgate.proxy;

import dev.toolgate.mcp.ToolsList;
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
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * The response side of an MCP POST that asked {@code tools/list}: the server's answer, {@code application/json}
 * or a {@code text/event-stream}, goes through {@link ToolsList} on its way to the agent.
 *
 * <ul>
 * <li>Recording only (the route does not filter): the bytes pass as they come; a copy (bounded) is read when the
 *     answer is complete, and an answer too large or unreadable is noted, never refused.</li>
 * <li>Filtering: a JSON answer is held until complete, then sent with only the visible tools (the head waits too,
 *     since its length changes); an event stream is passed event by event, the event answering {@code tools/list}
 *     rewritten. An answer that cannot be read, or is larger than the bound, is never passed on: {@link Refused}
 *     (fail closed: it could list tools the agent may not see).</li>
 * </ul>
 * After the watched requests are answered, the rest of an event stream passes untouched. Not thread-safe: used
 * on the exchange's event loop; {@link #release()} when the exchange ends.
 */
final class ToolsListTap {
    /** The answer cannot be passed on (filtering, and it could not be read). */
    static final class Refused extends Exception {
        Refused(String reason) {
            super(reason, null, false, false);
        }
    }

    private enum Mode { PASS, JSON, SSE }

    private final ToolsList tools;
    private final ByteBufAllocator alloc;
    private final int maxBytes;
    private final boolean http2;
    private Mode mode = Mode.PASS;
    private HttpResponse held;
    private ByteArrayOutputStream pending;
    private String note;

    ToolsListTap(ToolsList tools, ByteBufAllocator alloc, int maxBytes, boolean http2) {
        this.tools = tools;
        this.alloc = alloc;
        this.maxBytes = maxBytes;
        this.http2 = http2;
    }

    /** What happened, for the outcome record: tools seen, hidden, and anything that kept them from being read. */
    ToolsList tools() {
        return tools;
    }

    /** Whether the response head is held (nothing sent to the agent yet). */
    boolean holding() {
        return held != null;
    }

    /** Why the answer could not be read (recording only), or null. */
    String note() {
        return note;
    }

    /**
     * The response head: returns what to send the agent now, or null when it is held until the body is in.
     * A complete response ({@link FullHttpResponse}) comes back complete, its body inspected.
     */
    HttpResponse head(HttpResponse res) throws Refused {
        String type = res.headers().get(HttpHeaderNames.CONTENT_TYPE, "").toLowerCase(Locale.ROOT);
        if (res.status().code() != HttpResponseStatus.OK.code()) {
            mode = Mode.PASS;
        } else if (type.startsWith("application/json")) {
            mode = Mode.JSON;
        } else if (type.startsWith("text/event-stream")) {
            mode = Mode.SSE;
        } else {
            mode = Mode.PASS;
            if (tools.filters()) {
                throw new Refused("the MCP server answered tools/list as " + (type.isEmpty() ? "no content type"
                        : type) + "; the route filters tools/list, so the answer is not passed on");
            }
        }
        if (res instanceof FullHttpResponse full) {
            if (mode == Mode.PASS) {
                return full;
            }
            ByteBuf body = full.content();
            byte[] bytes = new byte[body.readableBytes()];
            body.getBytes(body.readerIndex(), bytes);
            byte[] replaced = mode == Mode.JSON ? json(bytes) : sse(bytes);
            if (replaced == null) {
                return full;
            }
            FullHttpResponse out = full.replace(alloc.buffer(replaced.length).writeBytes(replaced));
            full.release();
            out.trailingHeaders().clear();
            out.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
            out.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, replaced.length);
            return out;
        }
        pending = new ByteArrayOutputStream();
        if (mode == Mode.JSON && tools.filters()) {
            held = res;
            return null;
        }
        if (mode == Mode.SSE && tools.filters() && res.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            // Events may change length: the stream goes on without a declared length.
            res.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
            if (!http2) {
                res.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            }
        }
        return res;
    }

    /**
     * A part of the body: returns what to send the agent now (a {@link LastHttpContent}, possibly a whole
     * {@link FullHttpResponse} with the held head, for the last part), or null when nothing goes yet. Takes
     * ownership of {@code content}.
     */
    HttpContent content(HttpContent content) throws Refused {
        boolean last = content instanceof LastHttpContent;
        if (mode == Mode.PASS) {
            return content;
        }
        if (mode == Mode.JSON && !tools.filters()) {
            tee(content);
            if (last && pending != null) {
                try {
                    json(pending.toByteArray());
                } catch (Refused e) {
                    note = e.getMessage();
                }
                pending = null;
            }
            return content;
        }
        ByteBuf in = content.content();
        if (pending.size() + in.readableBytes() > maxBytes) {
            if (tools.filters()) {
                content.release();
                throw new Refused("the MCP server's tools/list answer is larger than " + maxBytes
                        + " bytes; the route filters tools/list, so it is not passed on");
            }
            // Recording only: what was held goes on with this part, and the rest of the stream passes.
            note = "a tools/list event is larger than " + maxBytes + " bytes; tool definitions not recorded";
            byte[] held = pending.toByteArray();
            pending = null;
            mode = Mode.PASS;
            ByteBuf joined = alloc.buffer(held.length + in.readableBytes()).writeBytes(held).writeBytes(in);
            HttpContent out = last ? new DefaultLastHttpContent(joined) : new DefaultHttpContent(joined);
            if (last) {
                ((LastHttpContent) out).trailingHeaders().set(((LastHttpContent) content).trailingHeaders());
            }
            content.release();
            return out;
        }
        append(pending, in, true);
        try {
            return mode == Mode.JSON ? jsonPart((LastHttpContent) (last ? content : null)) : ssePart(content, last);
        } finally {
            content.release();
        }
    }

    /** A filtered JSON answer: nothing until the last part, then the whole answer with the held head. */
    private HttpContent jsonPart(LastHttpContent last) throws Refused {
        if (last == null) {
            return null;
        }
        byte[] body = pending.toByteArray();
        byte[] replaced = json(body);
        byte[] out = replaced == null ? body : replaced;
        // Trailers of a JSON answer are dropped: the answer goes whole, with its length.
        FullHttpResponse whole = new DefaultFullHttpResponse(held.protocolVersion(), held.status(),
                alloc.buffer(out.length).writeBytes(out));
        whole.headers().set(held.headers());
        whole.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        whole.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, out.length);
        held = null;
        pending = null;
        return whole;
    }

    /** An event stream: the complete events so far, the answering one rewritten; a partial event waits. */
    private HttpContent ssePart(HttpContent content, boolean last) throws Refused {
        byte[] buffered = pending.toByteArray();
        int end = last ? buffered.length : completeEvents(buffered);
        byte[] ready = Arrays.copyOf(buffered, end);
        pending = new ByteArrayOutputStream();
        pending.write(buffered, end, buffered.length - end);
        byte[] replaced = sse(ready);
        byte[] out = replaced == null ? ready : replaced;
        if (tools.done() && !last) {
            // Every watched request is answered: the rest of the stream passes as it comes.
            out = concat(out, pending.toByteArray());
            pending = null;
            mode = Mode.PASS;
        }
        ByteBuf buf = alloc.buffer(out.length).writeBytes(out);
        if (!last) {
            return new DefaultHttpContent(buf);
        }
        LastHttpContent tail = new DefaultLastHttpContent(buf);
        tail.trailingHeaders().set(((LastHttpContent) content).trailingHeaders());
        return tail;
    }

    /** Frees what is held; the exchange ended early. */
    void release() {
        held = null;
        pending = null;
    }

    private void tee(HttpContent content) {
        if (pending == null) {
            return;
        }
        ByteBuf in = content.content();
        if (pending.size() + in.readableBytes() > maxBytes) {
            note = "the tools/list answer is larger than " + maxBytes + " bytes; tool definitions not recorded";
            pending = null;
            return;
        }
        append(pending, in, false);
    }

    private static void append(ByteArrayOutputStream to, ByteBuf from, boolean consume) {
        byte[] bytes = new byte[from.readableBytes()];
        from.getBytes(from.readerIndex(), bytes);
        if (consume) {
            from.skipBytes(bytes.length);
        }
        to.writeBytes(bytes);
    }

    /** Inspects a JSON answer; the replacement, or null to keep it. */
    private byte[] json(byte[] body) throws Refused {
        try {
            return tools.inspect(body, 0, body.length);
        } catch (IOException e) {
            throw new Refused("the MCP server's tools/list answer is not JSON the sidecar can read"
                    + (tools.filters() ? "; the route filters tools/list, so it is not passed on" : ""));
        }
    }

    /**
     * Inspects complete events (all of {@code bytes} up to an event boundary; at the end of the stream the rest
     * too); returns the bytes with the answering event rewritten, or null when nothing changed.
     */
    private byte[] sse(byte[] bytes) throws Refused {
        if (tools.done()) {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length);
        boolean changed = false;
        int start = 0;
        while (start < bytes.length) {
            int end = nextEvent(bytes, start);
            if (end < 0) {
                end = bytes.length; // the end of the stream ends the last event
            }
            byte[] replaced = event(bytes, start, end);
            if (replaced != null) {
                out.writeBytes(replaced);
                changed = true;
            } else {
                out.write(bytes, start, end - start);
            }
            start = end;
        }
        return changed ? out.toByteArray() : null;
    }

    /** Rewrites one event if its data answers a watched request and changed; null to keep it as it is. */
    private byte[] event(byte[] b, int from, int to) throws Refused {
        StringBuilder data = null;
        StringBuilder other = new StringBuilder();
        int i = from;
        while (i < to) {
            int eol = i;
            while (eol < to && b[eol] != '\n' && b[eol] != '\r') {
                eol++;
            }
            String line = new String(b, i, eol - i, StandardCharsets.UTF_8);
            if (line.startsWith("data:")) {
                String v = line.substring(line.startsWith("data: ") ? 6 : 5);
                data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
            } else if (!line.isEmpty()) {
                other.append(line).append('\n');
            }
            i = eol < to && b[eol] == '\r' && eol + 1 < to && b[eol + 1] == '\n' ? eol + 2 : eol + 1;
        }
        if (data == null || tools.done()) {
            return null;
        }
        byte[] json = data.toString().getBytes(StandardCharsets.UTF_8);
        byte[] replaced;
        try {
            replaced = tools.inspect(json, 0, json.length);
        } catch (IOException e) {
            if (tools.filters()) {
                // It could be an answer the agent's own parser reads: an unread answer is never passed on.
                throw new Refused("an event of the MCP server's stream is not JSON the sidecar can read; the route"
                        + " filters tools/list, so it is not passed on");
            }
            return null;
        }
        if (replaced == null) {
            return null;
        }
        return (other + "data: " + new String(replaced, StandardCharsets.UTF_8) + "\n\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Where the event starting at {@code from} ends (after its blank line), or -1 when it is not complete. */
    private static int nextEvent(byte[] b, int from) {
        boolean lineStart = true;
        int i = from;
        while (i < b.length) {
            byte c = b[i];
            if (c == '\r' || c == '\n') {
                int next = c == '\r' && i + 1 < b.length && b[i + 1] == '\n' ? i + 2 : i + 1;
                if (c == '\r' && i + 1 == b.length) {
                    return -1; // a CR at the end may be half of a CRLF
                }
                if (lineStart && i > from) {
                    return next;
                }
                lineStart = true;
                i = next;
            } else {
                lineStart = false;
                i++;
            }
        }
        return -1;
    }

    /** How many leading bytes of {@code b} are complete events. */
    private static int completeEvents(byte[] b) {
        int end = 0;
        int e;
        while (end < b.length && (e = nextEvent(b, end)) > 0) {
            end = e;
        }
        return end;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
