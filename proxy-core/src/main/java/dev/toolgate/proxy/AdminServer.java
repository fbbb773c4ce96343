package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.telemetry.ProxyMetrics;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The admin HTTP listener (plaintext, meant for 127.0.0.1 only): {@code GET /healthz} (the process serves),
 * {@code GET /readyz} (the data plane listens and the audit trail takes records), {@code GET /metrics}
 * (Prometheus text) and, when started with a JWKS supplier, {@code GET /.well-known/jwks.json} (the public keys
 * upstreams verify task JWTs with, see {@link dev.toolgate.credential.SigningKeys#jwksJson()}; 404 without one).
 * One thread of its own, so a busy data plane does not starve the probes. Thread-safe.
 */
public final class AdminServer implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel channel;

    private AdminServer(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /**
     * Starts the listener without a JWKS ({@code /.well-known/jwks.json} answers 404).
     *
     * @throws InterruptedException if interrupted while binding
     * @throws StartupException if the address cannot be bound (the message names the admin port and the address)
     */
    public static AdminServer start(String address, int port, ProxyMetrics metrics, BooleanSupplier ready)
            throws StartupException, InterruptedException {
        return start0(address, port, metrics, ready, null);
    }

    /**
     * Starts the listener; {@code /.well-known/jwks.json} answers {@code jwks.get()} as {@code application/json}
     * (asked on every request, so rotated keys show at once).
     *
     * @throws InterruptedException if interrupted while binding
     * @throws StartupException if the address cannot be bound (the message names the admin port and the address)
     */
    public static AdminServer start(String address, int port, ProxyMetrics metrics, BooleanSupplier ready,
                                    Supplier<String> jwks) throws StartupException, InterruptedException {
        return start0(address, port, metrics, ready, requireNonNull(jwks, "jwks"));
    }

    private static AdminServer start0(String address, int port, ProxyMetrics metrics, BooleanSupplier ready,
                                      Supplier<String> jwks) throws StartupException, InterruptedException {
        requireNonNull(metrics, "metrics");
        requireNonNull(ready, "ready");
        EventLoopGroup group = Transports.newGroup(1);
        try {
            Channel ch = Listeners.bind(new ServerBootstrap()
                    .group(group)
                    .channel(Transports.serverChannel())
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(4096),
                                    new Handler(metrics, ready, jwks));
                        }
                    }), "admin port", address, port);
            return new AdminServer(group, ch);
        } catch (StartupException | InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Answers the endpoints; everything else is 404, anything but GET 405. */
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final ProxyMetrics metrics;
        private final BooleanSupplier ready;
        private final Supplier<String> jwks;

        /** {@code jwks} may be null: no JWKS is published. */
        Handler(ProxyMetrics metrics, BooleanSupplier ready, Supplier<String> jwks) {
            this.metrics = metrics;
            this.ready = ready;
            this.jwks = jwks;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            HttpResponseStatus status;
            String body;
            String type = "text/plain; charset=utf-8";
            if (!req.decoderResult().isSuccess()) {
                status = HttpResponseStatus.BAD_REQUEST;
                body = "bad request\n";
            } else if (!req.method().equals(HttpMethod.GET)) {
                status = HttpResponseStatus.METHOD_NOT_ALLOWED;
                body = "GET only\n";
            } else {
                switch (req.uri()) {
                    case "/healthz" -> {
                        status = HttpResponseStatus.OK;
                        body = "ok\n";
                    }
                    case "/readyz" -> {
                        boolean ok = ready.getAsBoolean();
                        status = ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE;
                        body = ok ? "ready\n" : "not ready\n";
                    }
                    case "/metrics" -> {
                        status = HttpResponseStatus.OK;
                        body = metrics.scrape();
                        type = "text/plain; version=0.0.4; charset=utf-8";
                    }
                    case "/.well-known/jwks.json" -> {
                        if (jwks == null) {
                            status = HttpResponseStatus.NOT_FOUND;
                            body = "not found\n";
                        } else {
                            status = HttpResponseStatus.OK;
                            body = jwks.get();
                            type = "application/json";
                        }
                    }
                    default -> {
                        status = HttpResponseStatus.NOT_FOUND;
                        body = "not found\n";
                    }
                }
            }
            ByteBuf content = ctx.alloc().buffer(body.length());
            content.writeCharSequence(body, StandardCharsets.UTF_8);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            HttpUtil.setContentLength(res, content.readableBytes());
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            HttpUtil.setKeepAlive(res, keepAlive);
            var f = ctx.writeAndFlush(res);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
