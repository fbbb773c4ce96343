package dev.toolgate.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real HTTP/1.1 upstream on 127.0.0.1, port 0, optionally behind TLS, that records every request head it
 * receives (so hostile tests can assert nothing reached it). Paths:
 * <ul>
 *   <li>{@code /download/N}: N bytes of body, written only while the connection is writable;
 *   <li>{@code /slow}: never answers; {@code /reset}: closes the connection at once;
 *   <li>{@code /status/NNN}: answers with that status;
 *   <li>anything else: a JSON echo of method, uri, headers, body length and body SHA-256 (bodies are streamed,
 *       never buffered).
 * </ul>
 */
public final class TestUpstream implements AutoCloseable {
    /**
     * A request header that makes the upstream answer with {@code Mcp-Session-Id} set to its value, as an MCP
     * server does when it opens a session.
     */
    public static final String OPEN_SESSION = "x-test-open-session";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A request head as the upstream saw it. */
    public record Seen(String method, String uri, HttpHeaders headers) {}

    public final List<Seen> requests = new CopyOnWriteArrayList<>();
    /**
     * Requests whose body arrived in full (a well-framed end of message): only these are answered. A request cut
     * off mid-body (the connection closed first) is in {@link #requests} but never here.
     */
    public final List<Seen> completed = new CopyOnWriteArrayList<>();
    /** Trailer fields of chunked request bodies, one entry per request that had any. */
    public final List<HttpHeaders> trailers = new CopyOnWriteArrayList<>();
    public final AtomicLong downloadBytesWritten = new AtomicLong();
    public final AtomicInteger connections = new AtomicInteger();
    private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;

    private TestUpstream(SslContext tls) throws InterruptedException {
        server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.incrementAndGet();
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new HttpServerCodec(), new Handler());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    public static TestUpstream start() throws InterruptedException {
        return new TestUpstream(null);
    }

    public static TestUpstream startTls(SslContext serverContext) throws InterruptedException {
        return new TestUpstream(serverContext);
    }

    public int port() {
        return ((java.net.InetSocketAddress) server.localAddress()).getPort();
    }

    public String url() {
        return "http://127.0.0.1:" + port();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<HttpObject> {
        private HttpRequest head;
        private Seen seen;
        private MessageDigest sha;
        private long bodyBytes;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) throws Exception {
            if (msg instanceof HttpRequest req) {
                head = req;
                sha = MessageDigest.getInstance("SHA-256");
                bodyBytes = 0;
                seen = new Seen(req.method().name(), req.uri(), req.headers().copy());
                requests.add(seen);
                if (req.uri().equals("/reset")) {
                    ctx.close();
                    return;
                }
            }
            if (msg instanceof HttpContent c && head != null) {
                ByteBuf b = c.content();
                bodyBytes += b.readableBytes();
                sha.update(b.nioBuffer());
            }
            if (msg instanceof LastHttpContent last && head != null) {
                if (last.decoderResult().isSuccess()) {
                    completed.add(seen);
                }
                if (!last.trailingHeaders().isEmpty()) {
                    trailers.add(last.trailingHeaders().copy());
                }
                answer(ctx, head);
                head = null;
            }
        }

        private void answer(ChannelHandlerContext ctx, HttpRequest req) throws Exception {
            String uri = req.uri();
            if (uri.equals("/slow")) {
                return;
            }
            if (uri.startsWith("/download/")) {
                long n = Long.parseLong(uri.substring("/download/".length()));
                HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                HttpUtil.setContentLength(res, n);
                ctx.writeAndFlush(res);
                new Download(ctx, n).pump();
                return;
            }
            HttpResponseStatus status = HttpResponseStatus.OK;
            if (uri.startsWith("/status/")) {
                status = HttpResponseStatus.valueOf(Integer.parseInt(uri.substring(8)));
            }
            ObjectNode body = JSON.createObjectNode();
            body.put("method", req.method().name());
            body.put("uri", uri);
            ObjectNode headers = body.putObject("headers");
            for (Map.Entry<String, String> h : req.headers()) {
                headers.put(h.getKey().toLowerCase(java.util.Locale.ROOT), h.getValue());
            }
            body.put("bodyBytes", bodyBytes);
            body.put("sha256", HexFormat.of().formatHex(sha.digest()));
            byte[] bytes = JSON.writeValueAsBytes(body);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.wrappedBuffer(bytes));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
            HttpUtil.setContentLength(res, bytes.length);
            res.headers().set("x-upstream", "test");
            String session = req.headers().get(OPEN_SESSION);
            if (session != null) {
                res.headers().set("mcp-session-id", session);
            }
            ctx.writeAndFlush(res);
        }
    }

    /** Writes a body chunk by chunk, only while the channel is writable (like a well-behaved server). */
    private final class Download {
        private static final int CHUNK = 64 * 1024;
        private final ChannelHandlerContext ctx;
        private long left;

        Download(ChannelHandlerContext ctx, long n) {
            this.ctx = ctx;
            this.left = n;
        }

        void pump() {
            while (left > 0 && ctx.channel().isWritable()) {
                int n = (int) Math.min(CHUNK, left);
                left -= n;
                ByteBuf chunk = ctx.alloc().buffer(n);
                chunk.writerIndex(n);
                downloadBytesWritten.addAndGet(n);
                if (left == 0) {
                    ctx.writeAndFlush(new io.netty.handler.codec.http.DefaultLastHttpContent(chunk));
                    return;
                }
                ctx.writeAndFlush(new DefaultHttpContent(chunk));
            }
            if (left > 0) {
                ctx.channel().eventLoop().schedule(this::pump, 5, java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        }
    }
}
