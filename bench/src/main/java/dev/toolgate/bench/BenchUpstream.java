package dev.toolgate.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark's upstream: plaintext HTTP/1.1 keep-alive on 127.0.0.1 that reads (and drops) any request and
 * answers {@code 200} with a fixed body of {@code responseBytes}. The same for every target, so only the hop in
 * front of it differs. Thread-safe; {@link #close} releases its threads.
 */
public final class BenchUpstream implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel listener;

    private BenchUpstream(EventLoopGroup group, Channel listener) {
        this.group = group;
        this.listener = listener;
    }

    /**
     * Starts listening on 127.0.0.1:{@code port} (0: any free port).
     *
     * @throws InterruptedException if interrupted while binding
     */
    public static BenchUpstream start(int port, int threads, int responseBytes) throws InterruptedException {
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, io);
        byte[] body = new byte[responseBytes];
        java.util.Arrays.fill(body, (byte) 'u');
        ByteBuf shared = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(body).asReadOnly());
        try {
            Channel ch = new ServerBootstrap().group(group)
                    .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(new HttpServerCodec(), new Responder(shared));
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
            return new BenchUpstream(group, ch);
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Answers each request once its body has been read. One per connection; event loop only. */
    private static final class Responder extends SimpleChannelInboundHandler<HttpObject> {
        private final ByteBuf body;
        private boolean keepAlive = true;

        Responder(ByteBuf body) {
            this.body = body;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg.decoderResult().isFailure()) {
                ctx.close();
                return;
            }
            if (msg instanceof HttpRequest req) {
                keepAlive = HttpUtil.isKeepAlive(req);
            }
            if (msg instanceof LastHttpContent) {
                FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        body.duplicate());
                res.headers()
                        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM)
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
                if (keepAlive) {
                    ctx.writeAndFlush(res, ctx.voidPromise());
                } else {
                    res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                    ctx.writeAndFlush(res).addListener(f -> ctx.close());
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a benchmark peer that misbehaves just loses its connection
        }
    }
}
