package dev.toolgate.proxy;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent side of one HTTP/1.1 connection or one HTTP/2 stream: reads exactly one message per request for it
 * (a {@code FlowControlHandler} sits in front), runs one {@link Exchange} at a time, holds a pipelined HTTP/1.1
 * request until the exchange before it is done, and decides whether the connection goes on.
 *
 * <p>Every read it asks of the agent is timed ({@code limits:}): a request head within {@code requestHeadTimeout},
 * a kept-alive HTTP/1.1 connection's next request starting within {@code idleTimeout} (then its head within
 * {@code requestHeadTimeout}), a request body part within {@code bodyIdleTimeout}. No timer runs while no read is
 * asked for: an exchange waiting on its upstream, or held back because the upstream cannot take more.
 *
 * <p>Not thread-safe: every method runs on the channel's event loop.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(FrontendHandler.class);
    /** Longest time a refused agent's remaining body is read and dropped before the connection closes. */
    static final long LINGER_MILLIS = 2_000;

    private final ProxyRuntime rt;
    private final boolean http2;
    /** Where a stream reset before its request existed is audited (HTTP/2 only; null on HTTP/1.1). */
    private final RefusalAudit refusals;
    private ChannelHandlerContext ctx;
    private boolean started;
    private boolean readOutstanding;
    private boolean closed;
    /** Reading and dropping what a refused agent still sends, before the close (see {@link #linger}). */
    private boolean lingering;
    private Exchange exchange;
    /** A pipelined HTTP/1.1 request that arrived before the previous response finished. */
    private HttpRequest parked;
    /** An exchange on this connection has ended: the next wait for a request starts as keep-alive idle time. */
    private boolean served;
    /** What the outstanding read waits for (null when no read is asked for) and by when ({@code nanoTime}). */
    private Wait waiting;
    private long readDeadline;
    /**
     * At most one timer per connection, re-armed lazily as Netty's IdleStateHandler does: asking for a read only
     * moves {@link #readDeadline}; the timer, when it fires early, sleeps again for what is left. A read that comes
     * costs no scheduling; only a deadline earlier than the timer's reschedules it.
     */
    private ScheduledFuture<?> readTimer;
    private long readTimerAt;

    /** What an outstanding read of the agent waits for; each has its own limit and metric label. */
    private enum Wait {
        HEAD("head"), IDLE("idle"), BODY("body");

        final String label;

        Wait(String label) {
            this.label = label;
        }
    }

    /** On an HTTP/2 stream when {@code refusals} (where its resets are audited) is given, else on HTTP/1.1. */
    FrontendHandler(ProxyRuntime rt, RefusalAudit refusals) {
        this.rt = rt;
        this.http2 = refusals != null;
        this.refusals = refusals;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        firstRead();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        firstRead();
        ctx.fireChannelActive();
    }

    /** Exactly one read starts the first exchange; after that every read is asked for by an exchange. */
    private void firstRead() {
        if (!started && ctx.channel().isActive()) {
            started = true;
            readAgent();
        }
    }

    /**
     * Asks for exactly one more message from the agent. A read cycle that ends without a message (a partial
     * request, a TLS record with no HTTP in it) satisfies the read too, so {@link #channelReadComplete} asks again.
     */
    void readAgent() {
        readOutstanding = true;
        armReadTimer(exchange != null ? Wait.BODY : served ? Wait.IDLE : Wait.HEAD);
        ctx.read();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (lingering) {
            ctx.read();
        } else if (readOutstanding && !closed) {
            // Bytes came but not yet a whole message: a kept-alive connection's next request has begun (its head
            // now has requestHeadTimeout); a body part's wait starts over. A head's own limit runs on.
            if (waiting == Wait.IDLE || waiting == Wait.BODY) {
                armReadTimer(waiting == Wait.IDLE ? Wait.HEAD : Wait.BODY);
            }
            ctx.read();
        }
        ctx.fireChannelReadComplete();
    }

    private void armReadTimer(Wait wait) {
        long now = System.nanoTime();
        waiting = wait;
        readDeadline = now + limit(wait).toNanos();
        if (readTimer != null && readTimerAt - readDeadline > 0) {
            readTimer.cancel(false); // it would fire after this deadline
            readTimer = null;
        }
        if (readTimer == null) {
            scheduleReadTimer(readDeadline - now);
        }
    }

    private Duration limit(Wait wait) {
        return switch (wait) {
            case HEAD -> rt.limits().requestHeadTimeout();
            case IDLE -> rt.limits().idleTimeout();
            case BODY -> rt.limits().bodyIdleTimeout();
        };
    }

    private void scheduleReadTimer(long delayNanos) {
        readTimerAt = System.nanoTime() + delayNanos;
        readTimer = ctx.executor().schedule(this::readTimerFired, delayNanos, TimeUnit.NANOSECONDS);
    }

    /** No read is waited for any more; a timer still scheduled finds nothing to do when it fires and stops. */
    private void cancelReadTimer() {
        waiting = null;
    }

    private void readTimerFired() {
        readTimer = null;
        Wait wait = waiting;
        if (wait == null || !readOutstanding || closed || lingering) {
            return;
        }
        long left = readDeadline - System.nanoTime();
        if (left > 0) {
            scheduleReadTimer(left);
            return;
        }
        waiting = null;
        long limitMs = limit(wait).toMillis();
        rt.metrics().agentTimeout(wait.label);
        log.debug("[{}] agent {} timeout ({} ms)", ctx.channel().id(), wait.label, limitMs);
        if (wait == Wait.BODY && exchange != null) {
            exchange.body.timedOut(limitMs);
        } else {
            closed = true;
            ctx.close();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        readOutstanding = false;
        cancelReadTimer();
        if (lingering) {
            ReferenceCountUtil.release(msg); // the rest of a refused request, read only so the answer is not lost
            return;
        }
        if (msg instanceof HttpRequest req) {
            if (exchange == null && !closed) {
                exchange = new Exchange(this, ctx, rt.pinned(), http2); // one route set per exchange
                exchange.start(req);
            } else if (parked == null && !http2 && !closed) {
                parked = req;
            } else {
                ReferenceCountUtil.release(msg);
                ctx.close();
            }
        } else if (msg instanceof HttpContent content && exchange != null) {
            exchange.onAgentContent(content);
        } else {
            // Body parts after the exchange ended (e.g. the rest of a refused request on a closing connection).
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * Called by {@code ex} when it is over; {@code close} ends this connection or stream after the last write;
     * {@code unread} when the agent may still be sending the request's body (an early answer).
     */
    void exchangeDone(Exchange ex, boolean close, ChannelFuture lastWrite, boolean unread) {
        if (ex != exchange) {
            return;
        }
        exchange = null;
        served = true;
        if (close) {
            closed = true;
            if (lastWrite == null) {
                ctx.close();
            } else if (http2) {
                // The answer is complete but the agent may still be sending its body: RST_STREAM(NO_ERROR) asks it to
                // stop without discarding the answer (RFC 9113 8.1). A plain close would send CANCEL, which some
                // clients (the JDK's) treat as losing the response while they wait to send the rest of the body.
                lastWrite.addListener(f -> ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.NO_ERROR))
                        .addListener(ChannelFutureListener.CLOSE));
            } else if (unread) {
                lastWrite.addListener(f -> linger());
            } else {
                lastWrite.addListener(ChannelFutureListener.CLOSE);
            }
            return;
        }
        if (http2) {
            return; // the stream ends with its only exchange
        }
        HttpRequest next = parked;
        parked = null;
        if (next != null) {
            channelRead(ctx, next);
        } else {
            readAgent();
        }
    }

    /**
     * Closes an HTTP/1.1 connection whose agent may still be sending a body the sidecar refused early (a 413 on a
     * declared length, a 415, a denial before the body): closing at once would make the agent's client fail on its
     * next write (or the kernel answer it with a reset), and the agent would lose the answer it has not read yet.
     * So the answer goes first, then TLS close_notify and a TCP half-close tell the agent nothing more comes, and
     * whatever it still sends is read and dropped until it closes or {@link #LINGER_MILLIS} pass (nginx's
     * lingering close).
     */
    private void linger() {
        if (!ctx.channel().isActive()) {
            return;
        }
        lingering = true;
        ctx.executor().schedule(() -> {
            ctx.close();
        }, LINGER_MILLIS, TimeUnit.MILLISECONDS);
        // The agent learns at once that nothing more comes (TLS close_notify, then FIN), and may stop sending.
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        ChannelFuture notified = tls != null ? tls.closeOutbound() : ctx.newSucceededFuture();
        notified.addListener(f -> {
            if (ctx.channel() instanceof DuplexChannel duplex && duplex.isActive()) {
                duplex.shutdownOutput();
            }
        });
        ctx.read();
    }

    /** Called by {@code ex} when it cannot end cleanly: the connection (HTTP/1.1) or stream (HTTP/2) closes now. */
    void abort(Exchange ex) {
        if (ex == exchange) {
            exchange = null;
        }
        closed = true;
        ctx.close();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (exchange != null && ctx.channel().isWritable()) {
            exchange.onAgentWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        cancelReadTimer();
        if (readTimer != null) {
            readTimer.cancel(false);
            readTimer = null;
        }
        if (exchange != null) {
            exchange.onAgentClosed();
            exchange = null;
        }
        if (parked != null) {
            ReferenceCountUtil.release(parked);
            parked = null;
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("[{}] agent channel error, closing: {}", ctx.channel().id(), cause.toString());
        Http2Error error = http2 ? Http2HeadGuard.streamError(cause) : null;
        if (error != null) {
            // The codec found the stream malformed (RFC 9113 8.1.1: a stream error, PROTOCOL_ERROR): reset it with
            // that code. Closing the stream channel alone would send CANCEL and audit the call as the agent's close.
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(error), ctx.voidPromise());
            if (exchange != null) {
                exchange.onAgentMalformed(Http2HeadGuard.describe(cause));
            } else if (!served && !closed) {
                // The head itself was refused (e.g. a bad content-length) after the stream opened: no exchange
                // ever started, so this is the only place it can be audited.
                refusals.refused(ctx.channel(), Http2Refusal.stream(cause, error, Http2Refusal.peer(ctx.channel())));
            }
        }
        ctx.close();
    }
}
