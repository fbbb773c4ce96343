package dev.toolgate.proxy;

import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.TimeoutsConfig;
import dev.toolgate.config.UpstreamConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * One route's upstream: how to connect (plaintext or TLS, HTTP/1.1 or HTTP/2) and the pooled connections.
 *
 * <p>Connections are pooled per event loop and only ever touched from that loop (no locks): an exchange borrows
 * a connection on the loop of its agent connection, so proxying never crosses threads. HTTP/1.1 keeps a stack of
 * idle keep-alive connections; HTTP/2 keeps one connection per loop and opens a stream per exchange.
 *
 * <p>A route reload keeps an upstream whose settings ({@link #key}) did not change, pools and all, and
 * {@link #retire retires} one whose settings changed or whose route is gone: its pools are never used for the new
 * settings, exchanges that started before the reload finish on it, and its connections close as they fall idle.
 */
final class Upstream {
    private static final int MAX_IDLE_PER_LOOP = 64;

    final RouteConfig route;
    final UpstreamConfig config;
    final TimeoutsConfig timeouts;
    private final Supplier<SslContext> ssl;
    private final boolean publicTls;
    private final AddressResolverGroup<InetSocketAddress> resolver;
    /** Set once by {@link #retire}: connections given back are closed instead of pooled. */
    private volatile boolean retired;
    private final FastThreadLocal<LoopPool> pools = new FastThreadLocal<>() {
        @Override
        protected LoopPool initialValue() {
            return new LoopPool();
        }
    };

    Upstream(RouteConfig route, TimeoutsConfig timeouts, Supplier<SslContext> ssl, boolean publicTls,
             AddressResolverGroup<InetSocketAddress> resolver) {
        this.route = route;
        this.config = route.upstream();
        this.timeouts = timeouts;
        this.ssl = ssl;
        this.publicTls = publicTls;
        this.resolver = resolver;
    }

    /** What makes two upstreams interchangeable: the same target, TLS, HTTP version and timeouts. */
    record Key(UpstreamConfig config, TimeoutsConfig timeouts) {}

    Key key() {
        return new Key(config, timeouts);
    }

    /**
     * Takes this upstream out of service after a route reload: idle connections on every loop close now, an
     * HTTP/2 connection takes no new exchange and closes once its last stream was given back, and every HTTP/1.1
     * connection still in use closes when its exchange gives it back. Exchanges that started before may still
     * borrow (they keep the route set they started with); what they open is closed after them.
     */
    void retire(Iterable<? extends io.netty.util.concurrent.EventExecutor> loops) {
        retired = true;
        for (io.netty.util.concurrent.EventExecutor loop : loops) {
            loop.execute(this::drainHere);
        }
    }

    /** On a loop: closes this loop's idle connections and forgets its pool. */
    private void drainHere() {
        if (pools.isSet()) {
            pools.get().drain();
            pools.remove();
        }
    }

    /** Borrows an upstream channel (an HTTP/1.1 connection or an HTTP/2 stream). Call on {@code loop}. */
    Future<Channel> acquire(EventLoop loop) {
        return pools.get().acquire(loop);
    }

    /** Gives a channel back; one that cannot be reused (or any HTTP/2 stream) is closed. Call on its loop. */
    void release(Channel ch, boolean reusable) {
        BackendHandler backend = ch.pipeline().get(BackendHandler.class);
        if (backend != null) {
            backend.detach();
        }
        if (retired) {
            Channel parent = config.http2() ? ch.parent() : null;
            ch.close();
            if (parent != null) {
                // Later on the loop: a stream given back while its last frame is being read still counts as open.
                parent.eventLoop().execute(() -> closeWhenIdle(parent));
            }
            drainHere();
        } else if (config.http2() || !reusable || !ch.isActive() || !pools.get().idle.offerReusable(ch)) {
            ch.close();
        } else {
            // Keep a read pending while idle so an upstream close (or stray bytes) is noticed before reuse.
            ch.read();
        }
    }

    /** Closes an HTTP/2 connection that carries no open stream; one that does is closed by its last release. */
    private static void closeWhenIdle(Channel parent) {
        if (parent == null || !parent.isActive()) {
            return;
        }
        Http2FrameCodec codec = parent.pipeline().get(Http2FrameCodec.class);
        if (codec == null || codec.connection().numActiveStreams() == 0) {
            parent.close();
        }
    }

    static UpstreamException classify(Throwable cause, UpstreamConfig config) {
        String target = config.host() + ":" + config.port();
        if (cause instanceof UpstreamException ue) {
            return ue;
        }
        if (cause instanceof io.netty.channel.ConnectTimeoutException) {
            return new UpstreamException(ProxyError.UPSTREAM_CONNECT_TIMEOUT, "connect to " + target + " timed out", cause);
        }
        if (cause instanceof io.netty.handler.ssl.SslHandshakeTimeoutException) {
            return new UpstreamException(ProxyError.UPSTREAM_CONNECT_TIMEOUT, "TLS handshake with " + target + " timed out", cause);
        }
        if (cause instanceof SSLException) {
            return new UpstreamException(ProxyError.UPSTREAM_TLS_FAILED, "TLS with " + target + " failed: " + cause.getMessage(), cause);
        }
        if (cause instanceof UnknownHostException) {
            return new UpstreamException(ProxyError.UPSTREAM_CONNECT_FAILED, "cannot resolve " + config.host(), cause);
        }
        if (cause instanceof ConnectException) {
            return new UpstreamException(ProxyError.UPSTREAM_CONNECT_FAILED, "connect to " + target + " refused", cause);
        }
        return new UpstreamException(ProxyError.UPSTREAM_CONNECT_FAILED, "connect to " + target + " failed: " + cause, cause);
    }

    /** The connections of one event loop. Confined to that loop's thread. */
    private final class LoopPool {
        final IdleStack idle = new IdleStack();
        private Bootstrap bootstrap;
        private Channel h2Parent;
        private Future<Channel> h2Connecting;

        Future<Channel> acquire(EventLoop loop) {
            if (!config.http2()) {
                Channel ch = idle.pollActive();
                return ch != null ? loop.newSucceededFuture(ch) : connect(loop);
            }
            if (h2Parent != null && h2Parent.isActive()) {
                return openStream(loop, h2Parent);
            }
            if (h2Connecting == null) {
                h2Connecting = connect(loop);
                h2Connecting.addListener(f -> {
                    h2Connecting = null;
                    if (f.isSuccess()) {
                        h2Parent = (Channel) f.getNow();
                    }
                });
            }
            Promise<Channel> stream = loop.newPromise();
            h2Connecting.addListener(f -> {
                if (f.isSuccess()) {
                    openStream(loop, (Channel) f.getNow()).addListener(s -> {
                        if (s.isSuccess()) {
                            stream.setSuccess((Channel) s.getNow());
                        } else {
                            stream.setFailure(s.cause());
                        }
                    });
                } else {
                    stream.setFailure(f.cause());
                }
            });
            return stream;
        }

        /**
         * Closes the idle connections and forgets the HTTP/2 one: closed now if it carries no stream, else when the
         * last of its streams is given back (its exchanges started before the reload and finish on it).
         */
        void drain() {
            Channel ch;
            while ((ch = idle.pollActive()) != null) {
                ch.close();
            }
            closeWhenIdle(h2Parent);
            h2Parent = null;
        }

        private Future<Channel> openStream(EventLoop loop, Channel parent) {
            Promise<Channel> p = loop.newPromise();
            new Http2StreamChannelBootstrap(parent)
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(new ChannelInitializer<Http2StreamChannel>() {
                        @Override
                        protected void initChannel(Http2StreamChannel ch) {
                            ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false), new BackendHandler());
                        }
                    })
                    .open()
                    .addListener(f -> {
                        if (f.isSuccess()) {
                            p.setSuccess((Channel) f.getNow());
                        } else {
                            p.setFailure(new UpstreamException(ProxyError.UPSTREAM_OVERLOADED,
                                    "cannot open a stream to " + config.authority() + ": " + f.cause().getMessage(),
                                    f.cause()));
                        }
                    });
            return p;
        }

        private Future<Channel> connect(EventLoop loop) {
            if (bootstrap == null) {
                bootstrap = new Bootstrap()
                        .group(loop)
                        .channel(Transports.socketChannel())
                        .resolver(resolver)
                        // HTTP/1.1: read only when the exchange asks (back-pressure); HTTP/2: the streams do that.
                        .option(ChannelOption.AUTO_READ, config.http2())
                        .option(ChannelOption.TCP_NODELAY, true)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeouts.connect().toMillis())
                        .handler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                initConnection(ch);
                            }
                        });
            }
            Promise<Channel> p = loop.newPromise();
            bootstrap.connect(InetSocketAddress.createUnresolved(config.host(), config.port())).addListener(f -> {
                Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
                if (!f.isSuccess()) {
                    p.setFailure(classify(f.cause(), config));
                    return;
                }
                SslHandler tls = ch.pipeline().get(SslHandler.class);
                if (tls == null) {
                    p.setSuccess(ch);
                    return;
                }
                tls.handshakeFuture().addListener(h -> {
                    if (!h.isSuccess()) {
                        ch.close();
                        p.setFailure(classify(h.cause(), config));
                    } else if (config.http2() && !ApplicationProtocolNames.HTTP_2.equals(tls.applicationProtocol())) {
                        ch.close();
                        p.setFailure(new UpstreamException(ProxyError.UPSTREAM_TLS_FAILED,
                                config.authority() + " did not agree to HTTP/2 (ALPN)", null));
                    } else {
                        p.setSuccess(ch);
                    }
                });
            });
            return p;
        }

        private void initConnection(Channel ch) {
            ChannelPipeline pl = ch.pipeline();
            if (ssl != null) {
                // Asked per connection, so a rotated SVID is used by the next connection.
                SslHandler tls = ssl.get().newHandler(ch.alloc(), config.host(), config.port());
                tls.setHandshakeTimeoutMillis(timeouts.connect().toMillis());
                if (publicTls) {
                    SSLParameters params = tls.engine().getSSLParameters();
                    params.setEndpointIdentificationAlgorithm("HTTPS");
                    tls.engine().setSSLParameters(params);
                }
                pl.addLast(tls);
            }
            if (config.http2()) {
                pl.addLast(Http2FrameCodecBuilder.forClient()
                        .initialSettings(Http2Settings.defaultSettings().pushEnabled(false))
                        .build());
                // Server push is disabled, so inbound streams never open; the handler only satisfies the API.
                pl.addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
            } else {
                // A pooled connection that the upstream closes leaves the pool by itself.
                ch.closeFuture().addListener(f -> idle.forget(ch));
                pl.addLast(new IdleStateHandler(0, 0, timeouts.idle().toMillis(), TimeUnit.MILLISECONDS));
                pl.addLast(new HttpClientCodec(new HttpDecoderConfig().setMaxHeaderSize(32 * 1024).setMaxChunkSize(64 * 1024), false, false));
                pl.addLast(new BackendHandler());
            }
        }
    }

    /** Idle HTTP/1.1 connections, most recently used first (warm connections are reused first). */
    private static final class IdleStack {
        private final ArrayDeque<Channel> channels = new ArrayDeque<>();

        Channel pollActive() {
            Channel ch;
            while ((ch = channels.pollFirst()) != null) {
                if (ch.isActive()) {
                    return ch;
                }
            }
            return null;
        }

        boolean offerReusable(Channel ch) {
            if (channels.size() >= MAX_IDLE_PER_LOOP) {
                return false;
            }
            channels.addFirst(ch);
            return true;
        }

        void forget(Channel ch) {
            channels.remove(ch);
        }
    }
}
