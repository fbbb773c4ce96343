package dev.toolgate.bench;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

/**
 * Open-loop (constant arrival rate) or closed-loop HTTP load over HTTP/1.1 or HTTP/2, plaintext or TLS with a
 * client certificate, recording latency in an HdrHistogram from each request's intended send time, so a stall
 * is charged to every request scheduled behind it (no coordinated omission).
 *
 * <p>{@link #run} is blocking and creates and releases its own event loops; it may be called from several threads
 * at once (runs share nothing). Only ever point it at loopback or your own test hosts.
 */
public final class LoadGenerator {
    private static final long CONNECT_TIMEOUT_MILLIS = 10_000;
    /** How long responses still in flight at the end of the window are waited for. */
    private static final long DRAIN_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(Long.getLong("bench.drainSeconds", 5));
    private static final long START_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private LoadGenerator() {}

    /**
     * Connects, runs warmup plus the measured window, waits up to five seconds for responses still in flight,
     * closes everything and reports.
     *
     * @throws IOException if a connection or TLS handshake fails before the run starts
     * @throws InterruptedException if interrupted while waiting
     */
    public static LoadReport run(LoadOptions o) throws IOException, InterruptedException {
        requireNonNull(o, "o");
        Requests requests = Requests.of(o);
        SslContext ssl = o.tls() ? clientContext(o) : null;
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(o.threads(), io);
        Run run = new Run(o.rate(), o.warmup().toNanos(), o.duration().toNanos());
        List<Lane> lanes = new ArrayList<>();
        try {
            Bootstrap base = new Bootstrap().group(group)
                    .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT_MILLIS);
            List<ChannelFuture> ready = new ArrayList<>();
            for (int k = 0; k < o.connections(); k++) {
                Lane lane = newLane(o, run, requests, k);
                lanes.add(lane);
                ready.add(connect(base.clone(), o, ssl, lane));
            }
            awaitReady(o, ready, lanes);
            long now = System.nanoTime();
            run.begin(now + START_DELAY_NANOS);
            for (Lane lane : lanes) {
                lane.channel.eventLoop().schedule(lane::start, START_DELAY_NANOS, TimeUnit.NANOSECONDS);
            }
            sleepUntil(run.measureStart);
            double cpu0 = o.cpuPids().isEmpty() ? -1 : ProcStat.cpuSeconds(o.cpuPids());
            sleepUntil(run.end);
            double cpu1 = o.cpuPids().isEmpty() ? -1 : ProcStat.cpuSeconds(o.cpuPids());
            long drainDeadline = System.nanoTime() + DRAIN_TIMEOUT_NANOS;
            while (run.inFlight.sum() > 0 && System.nanoTime() < drainDeadline) {
                Thread.sleep(5);
            }
            long stuck = run.inFlight.sum();
            for (Lane lane : lanes) {
                lane.channel.close();
            }
            double cpu = cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0;
            long notSent = run.openLoop ? Math.max(0, run.intendedInWindow() - run.sentMeasured.sum()) : 0;
            String firstError = run.firstError;
            if (stuck > 0 && firstError == null) {
                firstError = stuck + " request(s) without a response " + DRAIN_TIMEOUT_NANOS / 1_000_000_000
                        + " s after the window";
            }
            return new LoadReport(o.rate(), o.connections(), o.duration().toNanos() / 1e9,
                    run.completedMeasured.sum(), run.errors.sum() + stuck, notSent, run.completedTotal.sum(), cpu,
                    run.histogram(), run.tlsSession == null ? "" : run.tlsSession,
                    firstError == null ? "" : firstError);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static Lane newLane(LoadOptions o, Run run, Requests requests, int k) {
        return o.protocol() == LoadOptions.Protocol.H1
                ? new H1Lane(run, requests, k, o.connections())
                : new H2Lane(run, requests, k, o.connections(), o.maxInFlight(), o.tls());
    }

    private static ChannelFuture connect(Bootstrap b, LoadOptions o, SslContext ssl, Lane lane) {
        ChannelHandler[] handlers = lane instanceof H1Lane h1 ? h1.handlers() : ((H2Lane) lane).handlers();
        b.handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                if (ssl != null) {
                    SslHandler h = ssl.newHandler(ch.alloc(), o.target().getHost(), o.port());
                    h.setHandshakeTimeoutMillis(CONNECT_TIMEOUT_MILLIS);
                    ch.pipeline().addLast(h);
                }
                ch.pipeline().addLast(handlers);
            }
        });
        ChannelFuture f = b.connect(o.target().getHost(), o.port());
        lane.channel = f.channel();
        return f;
    }

    private static void awaitReady(LoadOptions o, List<ChannelFuture> connects, List<Lane> lanes)
            throws IOException, InterruptedException {
        for (int k = 0; k < connects.size(); k++) {
            ChannelFuture f = connects.get(k);
            if (!f.await(CONNECT_TIMEOUT_MILLIS) || !f.isSuccess()) {
                throw new IOException("connection " + k + " to " + o.target() + " failed: " + f.cause());
            }
            Channel ch = lanes.get(k).channel;
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl == null) {
                continue;
            }
            var hs = ssl.handshakeFuture();
            if (!hs.await(CONNECT_TIMEOUT_MILLIS) || !hs.isSuccess()) {
                throw new IOException("TLS handshake " + k + " with " + o.target() + " failed: " + hs.cause());
            }
            String alpn = ssl.applicationProtocol();
            if (o.protocol() == LoadOptions.Protocol.H2 && !ApplicationProtocolNames.HTTP_2.equals(alpn)) {
                throw new IOException("server did not select h2 over ALPN (got: " + alpn + ")");
            }
            if (k == 0) {
                SSLSession s = ssl.engine().getSession();
                lanes.get(0).run.tlsSession = s.getProtocol() + " " + s.getCipherSuite()
                        + (alpn == null ? "" : " alpn=" + alpn);
            }
        }
    }

    private static SslContext clientContext(LoadOptions o) throws SSLException {
        SslContextBuilder b = SslContextBuilder.forClient()
                .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
                .applicationProtocolConfig(new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        o.protocol() == LoadOptions.Protocol.H2
                                ? ApplicationProtocolNames.HTTP_2 : ApplicationProtocolNames.HTTP_1_1));
        if (o.clientCert() != null) {
            b.keyManager(o.clientCert().toFile(), o.clientKey().toFile());
        }
        if (o.trust() != null) {
            b.trustManager(o.trust().toFile());
        } else {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE); // benchmark targets on loopback only
        }
        return b.build();
    }

    private static void sleepUntil(long deadline) throws InterruptedException {
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.sleep(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
        }
    }
}
