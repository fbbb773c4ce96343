package dev.toolgate.identity;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Real TLS over loopback: a Netty server on 127.0.0.1 port 0 that, after a successful handshake,
 * reads the peer's SPIFFE ID with {@link PeerIdentity}, greets the client with it and closes; and
 * a Netty client that records its handshake outcome and everything it received.
 */
final class TlsHarness implements AutoCloseable {

    static final Duration TIMEOUT = Duration.ofSeconds(5);

    /** What the server saw: the verified peer and the negotiated ALPN protocol. */
    record Accepted(SpiffeId peer, String alpn) {}

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    /** A one-connection server; {@link #accepted} completes exceptionally if the handshake fails. */
    final class Server implements AutoCloseable {
        final CompletableFuture<Accepted> accepted = new CompletableFuture<>();
        private final Channel channel;

        private Server(SslContext context) throws InterruptedException {
            channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            SslHandler ssl = context.newHandler(ch.alloc());
                            ch.pipeline().addLast(ssl, new ServerHandler(ssl, accepted));
                        }
                    })
                    .bind("127.0.0.1", 0).sync().channel();
        }

        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }

        /** Waits for the server's verdict; returns the failure, or fails the test if it succeeded. */
        Throwable rejection() throws InterruptedException, TimeoutException {
            try {
                Accepted a = accepted.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                throw new AssertionError("server accepted a peer it should have rejected: " + a);
            } catch (ExecutionException e) {
                return e.getCause();
            }
        }

        Accepted acceptance() throws Exception {
            return accepted.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }

    /** A client connection: its handshake outcome and all text received until the server closed. */
    static final class Client {
        final CompletableFuture<String> handshake = new CompletableFuture<>(); // ALPN protocol
        final CompletableFuture<String> received = new CompletableFuture<>();
        /** The first error the client saw (a failed handshake, or an alert after it, as in TLS 1.3). */
        final CompletableFuture<Throwable> failure = new CompletableFuture<>();

        /** Waits until the connection is closed and returns what the server sent. */
        String receivedText() throws Exception {
            return received.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }

        Throwable handshakeFailure() throws InterruptedException, TimeoutException {
            try {
                String alpn = handshake.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                throw new AssertionError("client handshake succeeded (ALPN " + alpn + ") but should have failed");
            } catch (ExecutionException e) {
                return e.getCause();
            }
        }
    }

    Server server(SslContext context) throws InterruptedException {
        return new Server(context);
    }

    Client connect(SslContext context, int port) throws InterruptedException {
        Client client = new Client();
        new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler ssl = context.newHandler(ch.alloc(), "127.0.0.1", port);
                        ch.pipeline().addLast(ssl, new ClientHandler(ssl, client));
                    }
                })
                .connect("127.0.0.1", port).sync();
        return client;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final class ServerHandler extends ChannelInboundHandlerAdapter {
        private final SslHandler ssl;
        private final CompletableFuture<Accepted> accepted;

        ServerHandler(SslHandler ssl, CompletableFuture<Accepted> accepted) {
            this.ssl = ssl;
            this.accepted = accepted;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (!(evt instanceof SslHandshakeCompletionEvent done)) {
                ctx.fireUserEventTriggered(evt);
                return;
            }
            if (!done.isSuccess()) {
                accepted.completeExceptionally(done.cause());
                ctx.close();
                return;
            }
            try {
                SpiffeId peer = PeerIdentity.of(ssl.engine().getSession());
                accepted.complete(new Accepted(peer, ssl.applicationProtocol()));
                ctx.writeAndFlush(Unpooled.copiedBuffer("hello " + peer, StandardCharsets.US_ASCII))
                        .addListener(ChannelFutureListener.CLOSE);
            } catch (Exception e) {
                accepted.completeExceptionally(e);
                ctx.close();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            accepted.completeExceptionally(new ClosedChannelException());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            accepted.completeExceptionally(cause);
            ctx.close();
        }
    }

    private static final class ClientHandler extends ChannelInboundHandlerAdapter {
        private final SslHandler ssl;
        private final Client client;
        private final StringBuilder text = new StringBuilder();

        ClientHandler(SslHandler ssl, Client client) {
            this.ssl = ssl;
            this.client = client;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done) {
                if (done.isSuccess()) {
                    String alpn = ssl.applicationProtocol();
                    client.handshake.complete(alpn == null ? "" : alpn);
                } else {
                    client.failure.complete(done.cause());
                    client.handshake.completeExceptionally(done.cause());
                }
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                text.append(((ByteBuf) msg).toString(StandardCharsets.US_ASCII));
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            client.handshake.completeExceptionally(new ClosedChannelException());
            client.received.complete(text.toString());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            client.failure.complete(cause);
            client.handshake.completeExceptionally(cause);
            ctx.close();
        }
    }
}
