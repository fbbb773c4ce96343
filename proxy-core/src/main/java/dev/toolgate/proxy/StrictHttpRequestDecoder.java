package dev.toolgate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.List;

/**
 * Netty's HTTP/1.1 request decoder with the request-smuggling shapes it tolerates turned into failures.
 *
 * <p>Netty already refuses bare LF, whitespace before the colon, bad header names and values, duplicate or
 * malformed Content-Length and a final coding other than chunked. Three shapes it accepts or waits on are refused
 * here:
 * <ul>
 *   <li>Transfer-Encoding together with Content-Length: Netty drops Content-Length and keeps the connection;
 *       a front end that framed by Content-Length would disagree about where the next request starts;
 *   <li>obs-fold (a header line continued on a line that starts with a space or tab): Netty joins it into the
 *       value, which hides it from us, so the raw header bytes are scanned before Netty parses them;
 *   <li>bare CR (a CR not followed by LF) anywhere in the head: Netty treats it as data or waits for the LF, so a
 *       client with CR-only line endings got no answer at all; the same scan refuses it.
 * </ul>
 * A refused message comes out as a request whose {@link DecoderResult} failed, like Netty's own failures, and
 * nothing after it on the connection is decoded. Not thread-safe: one instance per connection.
 */
final class StrictHttpRequestDecoder extends HttpRequestDecoder {

    /** Message of the failure for a folded header line. */
    static final String OBS_FOLD = "obs-fold (header line starting with whitespace) is not allowed";
    static final String TE_WITH_CL = "Transfer-Encoding together with Content-Length is not allowed";
    /** Message of the failure for a CR that is not followed by LF in a message head. */
    static final String BARE_CR = "bare CR (a CR not followed by LF) in the request head is not allowed";
    /** The audited operation of a head whose request line was not parsed ({@link #unparsed}). */
    static final String UNPARSED_OPERATION = "HTTP/1.1 request head (request line not parsed)";

    private final FoldScanner scanner = new FoldScanner();
    private boolean inHead = true;
    private boolean failed;

    StrictHttpRequestDecoder(int maxInitialLineLength, int maxHeaderSize) {
        super(new HttpDecoderConfig()
                .setMaxInitialLineLength(maxInitialLineLength)
                .setMaxHeaderSize(maxHeaderSize)
                .setMaxChunkSize(64 * 1024)
                .setHeadersFactory(DefaultHttpHeadersFactory.headersFactory().withValidation(true))
                .setTrailersFactory(DefaultHttpHeadersFactory.trailersFactory().withValidation(true))
                .setAllowDuplicateContentLengths(false)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true));
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (failed) {
            buffer.skipBytes(buffer.readableBytes());
            return;
        }
        int start = buffer.readerIndex();
        // Netty's decode() handles at most one head per call, so scanning what is readable now, up to the end of
        // this head, covers every header line before Netty sees it.
        FoldScanner.Result scanned = inHead ? scanner.scan(buffer) : FoldScanner.Result.MORE;
        if (scanned == FoldScanner.Result.FOLD || scanned == FoldScanner.Result.BARE_CR) {
            failed = true;
            buffer.skipBytes(buffer.readableBytes());
            DefaultFullHttpRequest bad = new Unparsed();
            bad.setDecoderResult(DecoderResult.failure(new IllegalArgumentException(
                    scanned == FoldScanner.Result.FOLD ? OBS_FOLD : BARE_CR)));
            out.add(bad);
            return;
        }
        int from = out.size();
        super.decode(ctx, buffer, out);
        scanner.consumed(buffer.readerIndex() - start);
        for (int i = from; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof HttpMessage m && m.decoderResult().isFailure()) {
                failed = true;
            }
            if (o instanceof HttpMessage) {
                inHead = false;
            }
            if (o instanceof LastHttpContent) {
                inHead = true;
                scanner.reset();
            }
        }
    }

    /** Netty's stand-in for a request that failed before its request line was parsed, marked as such. */
    @Override
    protected HttpMessage createInvalidMessage() {
        return new Unparsed();
    }

    /**
     * Whether {@code req} stands for a head whose request line was not parsed: its method and target are a
     * stand-in ({@code GET /bad-request}, as Netty's), which an audit record must not show as a real call.
     */
    static boolean unparsed(HttpRequest req) {
        return req instanceof Unparsed;
    }

    /** The failed request that stands for a head whose request line was not parsed. */
    private static final class Unparsed extends DefaultFullHttpRequest {
        Unparsed() {
            super(HttpVersion.HTTP_1_1, HttpMethod.GET, "/bad-request", Unpooled.EMPTY_BUFFER);
        }
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        // Thrown inside Netty's header handling, which turns it into a failed decoder result.
        throw new IllegalArgumentException(TE_WITH_CL);
    }

    /**
     * Finds a line in a message head that starts with SP or HTAB, or a CR that is not followed by LF (Netty waits
     * for an LF that a client using bare CR line endings never sends, and would hold the connection). Keeps its
     * position relative to the decoder's reader index across calls, because Netty consumes header lines as it
     * parses them.
     */
    static final class FoldScanner {
        enum Result { MORE, FOLD, BARE_CR, HEAD_END }

        private int scannedAhead;
        private boolean atLineStart = true;
        private boolean seenLine;
        private boolean headEnded;

        Result scan(ByteBuf buf) {
            if (headEnded) {
                return Result.HEAD_END;
            }
            int from = buf.readerIndex() + scannedAhead;
            int to = buf.writerIndex();
            for (int i = from; i < to; i++) {
                byte b = buf.getByte(i);
                if (b == '\n') {
                    if (atLineStart && seenLine) {
                        headEnded = true;
                        scannedAhead = i + 1 - buf.readerIndex();
                        return Result.HEAD_END;
                    }
                    atLineStart = true;
                } else if (b == '\r') {
                    // CR belongs to the line ending: the next byte must be its LF. A CR that ends what has arrived
                    // is looked at again when more comes.
                    if (i + 1 == to) {
                        scannedAhead = i - buf.readerIndex();
                        return Result.MORE;
                    }
                    if (buf.getByte(i + 1) != '\n') {
                        return Result.BARE_CR;
                    }
                } else {
                    if (atLineStart && seenLine && (b == ' ' || b == '\t')) {
                        return Result.FOLD;
                    }
                    atLineStart = false;
                    seenLine = true;
                }
            }
            scannedAhead = to - buf.readerIndex();
            return Result.MORE;
        }

        void consumed(int n) {
            scannedAhead = Math.max(0, scannedAhead - n);
        }

        void reset() {
            scannedAhead = 0;
            atLineStart = true;
            seenLine = false;
            headEnded = false;
        }
    }
}
