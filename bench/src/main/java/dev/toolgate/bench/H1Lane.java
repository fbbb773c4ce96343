package dev.toolgate.bench;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

/** An HTTP/1.1 keep-alive connection: one request at a time, no pipelining. Event loop only. */
final class H1Lane extends Lane {
    private long pendingStart;
    private boolean awaiting;
    private int status;

    H1Lane(Run run, Requests requests, int index, int lanes) {
        super(run, requests, index, lanes, 1);
    }

    ChannelHandler[] handlers() {
        return new ChannelHandler[] {new HttpClientCodec(), new ResponseHandler()};
    }

    @Override
    void send(long startRef) {
        pendingStart = startRef;
        awaiting = true;
        status = 0;
        FullHttpRequest req = new DefaultFullHttpRequest(
                HttpVersion.HTTP_1_1, HttpMethod.POST, requests.path, requests.body());
        req.headers()
                .set(HttpHeaderNames.HOST, requests.authority)
                .set(HttpHeaderNames.CONTENT_TYPE, requests.contentType)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, requests.bodyLength());
        for (int i = 0; i < requests.headerNames.length; i++) {
            req.headers().add(requests.headerNames[i], requests.headerValues[i]);
        }
        channel.writeAndFlush(req, channel.voidPromise()); // a failed write reaches exceptionCaught
    }

    private final class ResponseHandler extends SimpleChannelInboundHandler<HttpObject> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg.decoderResult().isFailure()) {
                ctx.close();
                return;
            }
            if (msg instanceof HttpResponse r) {
                status = r.status().code();
            }
            if (msg instanceof LastHttpContent && awaiting) {
                awaiting = false;
                done(pendingStart, status == 200, status == 200 ? null : "HTTP status " + status);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed();
            if (awaiting) {
                awaiting = false;
                done(pendingStart, false, "connection closed before the response ended");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            run.failed("connection error: " + cause);
            ctx.close();
        }
    }
}
