package dev.toolgate.mcp;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * The MCP server's answer to a {@code tools/list} POST, read on its way to the agent: an {@code application/json}
 * body or a {@code text/event-stream}, fed in parts as they come (cut anywhere), each watched answer given to its
 * {@link ToolsList} (digests, and filtering when the route asks for it).
 *
 * <ul>
 * <li>Recording only (the {@link ToolsList} does not filter): the bytes go on as they come (an event stream one
 *     complete event at a time); a bounded copy is read, and an answer too large or unreadable is noted
 *     ({@link #note()}), never refused.</li>
 * <li>Filtering: a JSON answer is held until complete, then goes whole with only the visible tools (so its head
 *     waits too: {@link Head#HOLD}); an event stream goes event by event, the event answering {@code tools/list}
 *     rewritten, every other event byte for byte. An answer that cannot be read, or is larger than the bound, or
 *     has another content type, is never passed on: {@link Refused} (fail closed: it could list tools the agent
 *     may not see).</li>
 * </ul>
 * Once every watched request is answered, the rest of an event stream goes on untouched. Events may end in CRLF,
 * LF or CR. No network types: a front end converts its buffers and headers to and from this class.
 *
 * <p>Not thread-safe: one answer, one thread. {@link #head} first, then {@link #feed} until a part marked last.
 */
public final class ToolsListRewriter {
    /** The bound on a held answer (or one event of a stream) when none is given. */
    public static final int DEFAULT_MAX_BYTES = 8 << 20;

    /** The answer cannot be passed on (the route filters, and it could not be read). */
    public static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String reason) {
            super(reason, null, false, false);
        }
    }

    /** What to do with the response head. */
    public enum Head {
        /** Send it as it came. */
        SEND,
        /** Send it now without its length: events may change length (the stream goes on without one). */
        SEND_WITHOUT_LENGTH,
        /** Hold it: the answer goes whole after its last part, with the length of {@link Pass#bytes()} then. */
        HOLD
    }

    /** What goes on to the agent for one part of the body. */
    public static final class Pass {
        private static final Pass UNCHANGED = new Pass(null);
        private static final Pass NOTHING = new Pass(new byte[0]);

        private final byte[] bytes;

        private Pass(byte[] bytes) {
            this.bytes = bytes;
        }

        static Pass of(byte[] bytes) {
            return bytes.length == 0 ? NOTHING : new Pass(bytes);
        }

        /** Whether the part goes on as it came; {@link #bytes()} is then not to be called. */
        public boolean unchanged() {
            return bytes == null;
        }

        /**
         * The bytes to send instead of the part (empty: nothing yet).
         *
         * @throws IllegalStateException if the part goes on {@link #unchanged()}
         */
        public byte[] bytes() {
            if (bytes == null) {
                throw new IllegalStateException("the part goes on unchanged");
            }
            return bytes;
        }
    }

    private enum Mode { NEW, PASS, JSON, SSE, ENDED }

    private final ToolsList tools;
    private final int maxBytes;
    private Mode mode = Mode.NEW;
    private ByteArrayOutputStream pending;
    private String note;

    private ToolsListRewriter(ToolsList tools, int maxBytes) {
        this.tools = tools;
        this.maxBytes = maxBytes;
    }

    /**
     * A rewriter for one answer.
     *
     * @param tools    the watched {@code tools/list} requests of the call, and whether their answers are filtered
     * @param maxBytes the most a held JSON answer, or one event of a stream, may have
     * @throws IllegalArgumentException if {@code maxBytes} is not positive
     */
    public static ToolsListRewriter of(ToolsList tools, int maxBytes) {
        requireNonNull(tools, "tools");
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: > 0)");
        }
        return new ToolsListRewriter(tools, maxBytes);
    }

    /** What happened, for the outcome record: tools seen and hidden. */
    public ToolsList tools() {
        return tools;
    }

    /** Why the answer could not be read (recording only), or null. */
    public String note() {
        return note;
    }

    /** Whether every further part goes on as it came, so it need not be fed (nothing to read in it). */
    public boolean passingThrough() {
        return mode == Mode.PASS;
    }

    /**
     * The response head: its status and content type (null when none) decide how the body is read.
     *
     * @throws Refused               if the route filters and the answer is neither JSON nor an event stream
     * @throws IllegalStateException if called twice
     */
    public Head head(int status, String contentType) throws Refused {
        if (mode != Mode.NEW) {
            throw new IllegalStateException("head: already seen");
        }
        String type = contentType == null ? "" : contentType.strip().toLowerCase(Locale.ROOT);
        mode = Mode.PASS;
        if (status != 200) {
            return Head.SEND; // an error or another kind of answer lists no tools
        }
        if (type.startsWith("application/json")) {
            mode = Mode.JSON;
        } else if (type.startsWith("text/event-stream")) {
            mode = Mode.SSE;
        } else if (tools.filters()) {
            throw new Refused("the MCP server answered tools/list as " + (type.isEmpty() ? "no content type"
                    : type) + "; the route filters tools/list, so the answer is not passed on");
        } else {
            return Head.SEND;
        }
        pending = new ByteArrayOutputStream();
        if (!tools.filters()) {
            return Head.SEND;
        }
        return mode == Mode.JSON ? Head.HOLD : Head.SEND_WITHOUT_LENGTH;
    }

    /** {@link #feed(ByteBuffer, boolean)} of a whole array. */
    public Pass feed(byte[] part, boolean last) throws Refused {
        return feed(ByteBuffer.wrap(part), last);
    }

    /**
     * The next part of the body ({@code last} when it ends the body): what to send the agent for it now. The
     * part's bytes are read (not consumed: its position stays) and copied where needed; it is not kept.
     *
     * @throws Refused               if the route filters and the answer cannot be read or is larger than the bound;
     *                               nothing more is to be sent
     * @throws IllegalStateException before {@link #head} or after the last part
     */
    public Pass feed(ByteBuffer part, boolean last) throws Refused {
        requireNonNull(part, "part");
        switch (mode) {
            case NEW:
                throw new IllegalStateException("feed: before the head");
            case ENDED:
                throw new IllegalStateException("feed: after the last part");
            case PASS:
                if (last) {
                    mode = Mode.ENDED;
                }
                return Pass.UNCHANGED;
            default:
                break;
        }
        if (mode == Mode.JSON && !tools.filters()) {
            record(part, last);
            return Pass.UNCHANGED;
        }
        if (pending.size() + part.remaining() > maxBytes) {
            if (tools.filters()) {
                discard();
                throw new Refused("the MCP server's tools/list answer is larger than " + maxBytes
                        + " bytes; the route filters tools/list, so it is not passed on");
            }
            // Recording only: what was held goes on with this part, and the rest of the stream passes.
            note = "a tools/list event is larger than " + maxBytes + " bytes; tool definitions not recorded";
            byte[] out = concat(pending.toByteArray(), bytes(part));
            pending = null;
            mode = last ? Mode.ENDED : Mode.PASS;
            return Pass.of(out);
        }
        pending.writeBytes(bytes(part));
        try {
            return mode == Mode.JSON ? jsonPart(last) : ssePart(last);
        } catch (Refused e) {
            discard();
            throw e;
        }
    }

    /** Drops what is held; the answer will not be fed further (the exchange ended early). */
    public void discard() {
        pending = null;
        mode = Mode.ENDED;
    }

    /** A JSON answer, recording only: the parts go on as they come; a bounded copy is read at the end. */
    private void record(ByteBuffer part, boolean last) {
        if (pending != null && pending.size() + part.remaining() > maxBytes) {
            note = "the tools/list answer is larger than " + maxBytes + " bytes; tool definitions not recorded";
            pending = null;
        } else if (pending != null) {
            pending.writeBytes(bytes(part));
        }
        if (last) {
            if (pending != null) {
                try {
                    json(pending.toByteArray());
                } catch (Refused e) {
                    note = e.getMessage();
                }
            }
            pending = null;
            mode = Mode.ENDED;
        }
    }

    /** A filtered JSON answer: nothing until the last part, then the whole answer. */
    private Pass jsonPart(boolean last) throws Refused {
        if (!last) {
            return Pass.NOTHING;
        }
        byte[] body = pending.toByteArray();
        byte[] replaced = json(body);
        pending = null;
        mode = Mode.ENDED;
        return Pass.of(replaced == null ? body : replaced);
    }

    /** An event stream: the complete events so far, the answering one rewritten; a partial event waits. */
    private Pass ssePart(boolean last) throws Refused {
        byte[] buffered = pending.toByteArray();
        int end = last ? buffered.length : SseEvents.complete(buffered);
        byte[] ready = Arrays.copyOf(buffered, end);
        pending = new ByteArrayOutputStream();
        pending.write(buffered, end, buffered.length - end);
        byte[] replaced = sse(ready);
        byte[] out = replaced == null ? ready : replaced;
        if (last) {
            pending = null;
            mode = Mode.ENDED;
        } else if (tools.done()) {
            // Every watched request is answered: the rest of the stream passes as it comes.
            out = concat(out, pending.toByteArray());
            pending = null;
            mode = Mode.PASS;
        }
        return Pass.of(out);
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
            int end = SseEvents.next(bytes, start);
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
        if (tools.done()) {
            return null;
        }
        SseEvents.Event event = SseEvents.parse(b, from, to);
        if (event.data() == null) {
            return null;
        }
        byte[] json = event.data().getBytes(StandardCharsets.UTF_8);
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
        return (event.otherFields() + "data: " + new String(replaced, StandardCharsets.UTF_8) + "\n\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer part) {
        byte[] bytes = new byte[part.remaining()];
        part.duplicate().get(bytes);
        return bytes;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
