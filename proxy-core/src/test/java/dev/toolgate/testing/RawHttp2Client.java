package dev.toolgate.testing;

import static java.util.Objects.requireNonNull;

import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.Svid;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.CharSequenceValueConverter;
import io.netty.handler.codec.DefaultHeaders;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A deliberately lenient HTTP/2 client over mTLS (ALPN {@code h2}, presenting a dev-CA SVID) for hostile tests: it
 * validates nothing it sends, so it can put upper-case names, connection-specific fields, duplicate or misplaced
 * pseudo-headers and {@code content-length} values that disagree with the DATA frames on the wire, and it ignores
 * the server's {@code SETTINGS_MAX_HEADER_LIST_SIZE}. Headers are sent in exactly the order they were added (see
 * {@link #headers()}).
 *
 * <p>Each {@link #open() stream} collects what comes back: the response HEADERS ({@code :status}), DATA, trailers,
 * an RST_STREAM, or a GOAWAY for the connection. Thread-safe. {@link #close()} closes the connection (and the
 * client's own event loop, if it has one).
 */
public final class RawHttp2Client implements AutoCloseable {

    /** A GOAWAY the server sent on this connection. */
    public record GoAway(long errorCode, int lastStreamId, String debug) {}

    /**
     * What came back on one stream. {@code status} is 0 when no response HEADERS arrived; {@code reset} is the
     * RST_STREAM error code, or {@code null} if the server did not reset the stream; {@code ended} is true when
     * the server ended the stream (END_STREAM) normally.
     */
    public record Response(int status, Http2Headers headers, String body, Http2Headers trailers, Long reset,
                           boolean ended, GoAway goAway) {
        public boolean wasReset() {
            return reset != null;
        }
    }

    /** Set when this client owns its event loop (and shuts it down on {@link #close()}). */
    private final EventLoopGroup ownGroup;
    private final Channel channel;
    private volatile GoAway goAway;

    private RawHttp2Client(SslContext tls, EventLoopGroup group, boolean ownsGroup, int port) throws Exception {
        this.ownGroup = ownsGroup ? group : null;
        try {
            channel = new Bootstrap()
                    .group(group)
                    .channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(
                                    tls.newHandler(ch.alloc(), "127.0.0.1", port),
                                    Http2FrameCodecBuilder.forClient()
                                            // A hostile client: nothing it sends is checked or reordered.
                                            .validateHeaders(false)
                                            .encoderIgnoreMaxHeaderListSize(true)
                                            .initialSettings(Http2Settings.defaultSettings())
                                            .build(),
                                    new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()),
                                    new ConnectionFrames());
                        }
                    })
                    .connect("127.0.0.1", port)
                    .sync()
                    .channel();
            SslHandler ssl = channel.pipeline().get(SslHandler.class);
            ssl.handshakeFuture().get(5, TimeUnit.SECONDS);
            if (!ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
                channel.close();
                throw new IllegalStateException("server did not select h2 (got: " + ssl.applicationProtocol() + ")");
            }
        } catch (Exception e) {
            if (ownsGroup) {
                group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            }
            throw e;
        }
    }

    /**
     * A client TLS context presenting a fresh SVID for {@code agent} from {@code pki}, trusting the dev CA and
     * offering only {@code h2}. Build it once and share it: minting and building cost more than a handshake.
     */
    public static SslContext tls(TestPki pki, SpiffeId agent) throws Exception {
        requireNonNull(pki, "pki");
        requireNonNull(agent, "agent");
        Svid svid = pki.issue(agent);
        return SslContextBuilder.forClient()
                .keyManager(svid.key(), svid.chain())
                .trustManager(pki.ca().certificate())
                .applicationProtocolConfig(new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2))
                .build();
    }

    /**
     * Connects to {@code 127.0.0.1:port} with {@code tls} (see {@link #tls}) on {@code group}, which the caller
     * owns, and negotiates {@code h2}.
     *
     * @throws Exception if the connection, the handshake or ALPN fails
     */
    public static RawHttp2Client connect(SslContext tls, EventLoopGroup group, int port) throws Exception {
        return new RawHttp2Client(requireNonNull(tls, "tls"), requireNonNull(group, "group"), false, port);
    }

    /** Connects as {@code agent} on an event loop of its own (released by {@link #close()}). */
    public static RawHttp2Client connect(TestPki pki, SpiffeId agent, int port) throws Exception {
        return new RawHttp2Client(tls(pki, agent), new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory()),
                true, port);
    }

    /**
     * An empty header list that keeps fields in the order they are added, validates nothing and allows
     * duplicates (unlike {@code DefaultHttp2Headers}, which always moves pseudo-headers first).
     */
    public static Http2Headers headers() {
        return new OrderedHeaders();
    }

    /** {@code :method}, {@code :scheme https}, {@code :authority}, {@code :path}, in that order. */
    public static Http2Headers request(String method, String path) {
        return headers().add(":method", method).add(":scheme", "https").add(":authority", "sidecar")
                .add(":path", path);
    }

    /**
     * Opens a new stream on this connection (its id is assigned when its first HEADERS frame is written).
     *
     * @throws IOException if the connection can take no new stream (e.g. it is closed)
     */
    public Stream open() throws InterruptedException, IOException {
        Stream s = new Stream();
        Future<Http2StreamChannel> f = new Http2StreamChannelBootstrap(channel).handler(s.collector).open().await();
        if (!f.isSuccess()) {
            throw new IOException("cannot open a stream: " + f.cause(), f.cause());
        }
        s.channel = f.getNow();
        return s;
    }

    /** Sends {@code headers} and, if {@code body} is not null, one DATA frame; END_STREAM on the last frame. */
    public Response exchange(Http2Headers headers, String body) throws Exception {
        Stream s = open();
        if (body == null) {
            s.headers(headers, true);
        } else {
            s.headers(headers, false).data(body, true);
        }
        return s.response();
    }

    /** The GOAWAY the server sent, or {@code null}. */
    public GoAway goAway() {
        return goAway;
    }

    /** Whether the TCP connection is still open. */
    public boolean isOpen() {
        return channel.isActive();
    }

    /** Waits up to {@code timeout} for the server to close the connection; returns whether it did. */
    public boolean awaitClosed(Duration timeout) throws InterruptedException {
        return channel.closeFuture().await(timeout.toMillis());
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        if (ownGroup != null) {
            ownGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** One stream: write frames to it, then wait for what came back. */
    public final class Stream {
        private final Collector collector = new Collector();
        private Http2StreamChannel channel;

        /** Writes a HEADERS frame (first the request head, later trailers). A failed write is ignored. */
        public Stream headers(Http2Headers headers, boolean endStream) {
            channel.writeAndFlush(new DefaultHttp2HeadersFrame(headers, endStream));
            return this;
        }

        /** Writes one DATA frame of {@code text} (UTF-8). A failed write (stream already reset) is ignored. */
        public Stream data(String text, boolean endStream) {
            return data(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8), endStream);
        }

        /** Writes one DATA frame; takes ownership of {@code content}. */
        public Stream data(ByteBuf content, boolean endStream) {
            channel.writeAndFlush(new DefaultHttp2DataFrame(content, endStream));
            return this;
        }

        /** Writes an RST_STREAM with {@code error}. */
        public Stream reset(Http2Error error) {
            channel.writeAndFlush(new DefaultHttp2ResetFrame(error));
            return this;
        }

        /** The stream id, once the first HEADERS frame went out. */
        public int id() {
            return channel.stream().id();
        }

        /** Waits (5 s at most) until the stream ended, was reset, or the connection went away. */
        public Response response() throws Exception {
            return response(Duration.ofSeconds(5));
        }

        public Response response(Duration timeout) throws Exception {
            try {
                return collector.done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("no end, reset or GOAWAY on stream within " + timeout + "; so far: "
                        + collector.snapshot(false));
            }
        }

        /** The error code of the RST_STREAM the peer sent, even after a complete response; null if none came. */
        public Long awaitReset(Duration timeout) throws Exception {
            try {
                return collector.resetSeen.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                return null;
            }
        }

        /** Whether the stream has ended, been reset or lost its connection. */
        public boolean isDone() {
            return collector.done.isDone();
        }
    }

    /** Collects one stream's frames on its event loop. */
    private final class Collector extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Response> done = new CompletableFuture<>();
        private final CompletableFuture<Long> resetSeen = new CompletableFuture<>();
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private Http2Headers head;
        private Http2Headers trailers;
        private Long reset;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame f) {
                    CharSequence status = f.headers().status();
                    if (head == null && status != null) {
                        if (status.length() == 3 && status.charAt(0) == '1') {
                            return; // informational
                        }
                        head = f.headers();
                    } else {
                        trailers = f.headers();
                    }
                    if (f.isEndStream()) {
                        finish(true);
                    }
                } else if (msg instanceof Http2DataFrame f) {
                    f.content().readBytes(body, f.content().readableBytes());
                    if (f.isEndStream()) {
                        finish(true);
                    }
                }
            } catch (IOException e) {
                done.completeExceptionally(e);
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            try {
                if (evt instanceof Http2ResetFrame r) {
                    resetSeen.complete(r.errorCode());
                    reset = r.errorCode();
                    finish(false);
                } else if (evt instanceof Http2GoAwayFrame g) {
                    goAway = new GoAway(g.errorCode(), g.lastStreamId(),
                            g.content().toString(StandardCharsets.UTF_8));
                    finish(false);
                }
            } finally {
                ReferenceCountUtil.release(evt);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(false);
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // A failed write to a stream the server already reset lands here: the response tells the story.
        }

        private void finish(boolean ended) {
            if (!done.isDone()) {
                done.complete(snapshot(ended));
            }
        }

        private Response snapshot(boolean ended) {
            int status = head == null ? 0 : Integer.parseInt(head.status().toString());
            return new Response(status, head, body.toString(StandardCharsets.UTF_8), trailers, reset, ended, goAway);
        }
    }

    /** Connection-level frames after the multiplexer: remembers a GOAWAY, releases everything. */
    private final class ConnectionFrames extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2GoAwayFrame g) {
                    goAway = new GoAway(g.errorCode(), g.lastStreamId(), g.content().toString(StandardCharsets.UTF_8));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Insertion-ordered, unvalidated HTTP/2 headers. */
    private static final class OrderedHeaders extends DefaultHeaders<CharSequence, CharSequence, Http2Headers>
            implements Http2Headers {
        private static final AsciiString METHOD = AsciiString.cached(":method");
        private static final AsciiString SCHEME = AsciiString.cached(":scheme");
        private static final AsciiString AUTHORITY = AsciiString.cached(":authority");
        private static final AsciiString PATH = AsciiString.cached(":path");
        private static final AsciiString STATUS = AsciiString.cached(":status");

        OrderedHeaders() {
            super(AsciiString.CASE_SENSITIVE_HASHER, CharSequenceValueConverter.INSTANCE);
        }

        @Override
        public Http2Headers method(CharSequence value) {
            return set(METHOD, value);
        }

        @Override
        public Http2Headers scheme(CharSequence value) {
            return set(SCHEME, value);
        }

        @Override
        public Http2Headers authority(CharSequence value) {
            return set(AUTHORITY, value);
        }

        @Override
        public Http2Headers path(CharSequence value) {
            return set(PATH, value);
        }

        @Override
        public Http2Headers status(CharSequence value) {
            return set(STATUS, value);
        }

        @Override
        public CharSequence method() {
            return get(METHOD);
        }

        @Override
        public CharSequence scheme() {
            return get(SCHEME);
        }

        @Override
        public CharSequence authority() {
            return get(AUTHORITY);
        }

        @Override
        public CharSequence path() {
            return get(PATH);
        }

        @Override
        public CharSequence status() {
            return get(STATUS);
        }

        @Override
        public boolean contains(CharSequence name, CharSequence value, boolean caseInsensitive) {
            return contains(name, value, caseInsensitive ? AsciiString.CASE_INSENSITIVE_HASHER
                    : AsciiString.CASE_SENSITIVE_HASHER);
        }
    }
}
