package dev.toolgate.bench;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;

/**
 * An HTTP/2 connection: up to {@code maxStreams} requests at a time, one stream each. For gRPC the call succeeds
 * only with {@code :status 200} and {@code grpc-status 0}. Event loop only.
 */
final class H2Lane extends Lane {
    private static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
    private static final AsciiString TE = AsciiString.cached("te");
    private static final AsciiString TRAILERS = AsciiString.cached("trailers");

    private final AsciiString scheme;
    private boolean flushScheduled;

    H2Lane(Run run, Requests requests, int index, int lanes, int maxStreams, boolean tls) {
        super(run, requests, index, lanes, maxStreams);
        this.scheme = AsciiString.of(tls ? "https" : "http");
    }

    ChannelHandler[] handlers() {
        return new ChannelHandler[] {
            Http2FrameCodecBuilder.forClient()
                    .initialSettings(Http2Settings.defaultSettings().pushEnabled(false))
                    .build(),
            new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()),
            new ChannelInboundHandlerAdapter() {
                @Override
                public void channelInactive(ChannelHandlerContext ctx) {
                    closed();
                    ctx.fireChannelInactive();
                }

                @Override
                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    run.failed("connection error: " + cause);
                    ctx.close();
                }
            }
        };
    }

    @Override
    void send(long startRef) {
        Stream stream = new Stream(startRef);
        new Http2StreamChannelBootstrap(channel).handler(stream).open().addListener(
                (Future<Http2StreamChannel> f) -> {
                    if (!f.isSuccess()) {
                        stream.finish(false, "stream not opened: " + f.cause());
                        return;
                    }
                    Http2StreamChannel s = f.getNow();
                    Http2Headers h = new DefaultHttp2Headers()
                            .method("POST").scheme(scheme).authority(requests.authority).path(requests.path);
                    h.set(HttpHeaderNames.CONTENT_TYPE, requests.contentType);
                    if (requests.grpc) {
                        h.set(TE, TRAILERS);
                    }
                    for (int i = 0; i < requests.headerNames.length; i++) {
                        h.add(requests.headerNames[i], requests.headerValues[i]);
                    }
                    s.write(new DefaultHttp2HeadersFrame(h, false), s.voidPromise());
                    s.write(new DefaultHttp2DataFrame(requests.body(), true), s.voidPromise());
                    flushSoon();
                });
    }

    /**
     * Flushes the connection once the current event-loop task is done. A stream's own flush is dropped while its
     * parent connection is inside a read, and Netty flushes the parent after that read only if some stream read
     * in it: a request sent from a response's completion could otherwise sit unflushed until the next timer.
     */
    private void flushSoon() {
        if (!flushScheduled) {
            flushScheduled = true;
            channel.eventLoop().execute(() -> {
                flushScheduled = false;
                channel.flush();
            });
        }
    }

    /** One request's stream. */
    private final class Stream extends ChannelInboundHandlerAdapter {
        private final long startRef;
        private CharSequence status;
        private CharSequence grpcStatus;
        private boolean finished;

        Stream(long startRef) {
            this.startRef = startRef;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame hf) {
                    if (status == null) {
                        status = hf.headers().status();
                    }
                    CharSequence g = hf.headers().get(GRPC_STATUS);
                    if (g != null) {
                        grpcStatus = g;
                    }
                    if (hf.isEndStream()) {
                        end();
                    }
                } else if (msg instanceof Http2DataFrame df) {
                    if (df.isEndStream()) {
                        end();
                    }
                } else if (msg instanceof Http2ResetFrame rf) {
                    finish(false, "stream reset: error code " + rf.errorCode());
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void end() {
            boolean ok = status != null && AsciiString.contentEquals(status, "200")
                    && (!requests.grpc || grpcStatus != null && AsciiString.contentEquals(grpcStatus, "0"));
            finish(ok, ok ? null : "status " + status + (requests.grpc ? ", grpc-status " + grpcStatus : ""));
        }

        void finish(boolean ok, String error) {
            if (!finished) {
                finished = true;
                done(startRef, ok, error);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(false, "stream closed before the response ended");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(false, "stream error: " + cause);
            ctx.close();
        }
    }
}
