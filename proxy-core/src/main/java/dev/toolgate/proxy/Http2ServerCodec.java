package dev.toolgate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DecoratingHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;
import java.util.List;

/**
 * Builds the agent port's HTTP/2 frame codec with its error path audited. Netty's codec refuses a malformed header
 * block (bad or upper-case field names, connection-specific fields, missing, duplicate or misplaced
 * pseudo-headers, a bad {@code content-length}, a header list over the limit) while decoding it, before the stream
 * exists, so no stream channel (and no exchange) ever sees it: it only sends RST_STREAM (or a 431). Likewise a
 * connection error (a frame on an idle stream, an HPACK failure, a RST_STREAM flood) only sends GOAWAY. The decoder
 * here sees every such error on its way to the codec's handling and hands it to {@link RefusalAudit} as an
 * {@link Http2Refusal}: every stream error for a stream that never existed, and every connection error. Errors of a
 * stream that exists reach its stream channel, where {@link FrontendHandler} audits them. Stateless.
 */
final class Http2ServerCodec {
    private Http2ServerCodec() {}

    /** The server codec: header validation and the required pseudo-header check on, errors audited. */
    static Http2FrameCodec build(Http2Settings settings, RefusalAudit refusals) {
        return new Builder(refusals).initialSettings(settings)
                .validateHeaders(true)
                // RFC 9113 8.3.1: a request without :method, :scheme or :path (or a CONNECT without :authority) is
                // malformed. Off by default in Netty: a head without :scheme was forwarded, one without :method was
                // taken for trailers and left the stream hanging.
                .validateRequiredPseudoHeaders(true)
                .build();
    }

    /** Netty's builder, with the decoder it assembled (limits and all) wrapped before the codec is made. */
    private static final class Builder extends Http2FrameCodecBuilder {
        private final RefusalAudit refusals;

        Builder(RefusalAudit refusals) {
            this.refusals = refusals;
            server(true);
            gracefulShutdownTimeoutMillis(0); // as forServer()
        }

        @Override
        protected Http2FrameCodec build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                                        Http2Settings initialSettings) {
            return super.build(new AuditedDecoder(decoder, refusals), encoder, initialSettings);
        }
    }

    /** Passes every call on; audits what {@link #decodeFrame} throws, then rethrows it unchanged. */
    private static final class AuditedDecoder extends DecoratingHttp2ConnectionDecoder {
        private final RefusalAudit refusals;

        AuditedDecoder(Http2ConnectionDecoder delegate, RefusalAudit refusals) {
            super(delegate);
            this.refusals = refusals;
        }

        @Override
        public void decodeFrame(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Http2Exception {
            try {
                super.decodeFrame(ctx, in, out);
            } catch (Http2Exception | RuntimeException e) {
                audit(ctx, e);
                throw e;
            }
        }

        private void audit(ChannelHandlerContext ctx, Throwable cause) {
            Http2Exception e = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
            if (e == null) {
                return; // not the agent's protocol error: the codec ends the connection and logs it
            }
            Http2Connection connection = connection();
            if (e instanceof Http2Exception.StreamException s) {
                // A stream that exists has a stream channel that gets the error; one that may have existed and is
                // gone (e.g. DATA the agent still sent after the stream was answered) is not a malformed head.
                if (!connection.streamMayHaveExisted(s.streamId())) {
                    refusals.refused(ctx.channel(), Http2Refusal.of(e, false, Http2Refusal.peer(ctx.channel())));
                }
            } else if (e instanceof Http2Exception.CompositeStreamException) {
                return; // only ever raised on the outbound side
            } else {
                refusals.refused(ctx.channel(), Http2Refusal.of(e, true, Http2Refusal.peer(ctx.channel())));
            }
        }
    }
}
