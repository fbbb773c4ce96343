package dev.toolgate.proxy;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2CodecUtil;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.Locale;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of an agent connection whose protocol handlers pass errors on (the HTTP/2 connection: the frame
 * codec and the stream multiplexer fire a socket error onwards after dealing with their streams). It logs the error
 * once with the channel id and closes, so nothing reaches the end of the pipeline, where Netty would log a WARN with a
 * stack trace. An agent that goes away ({@link #isDisconnect}: connection reset, broken pipe) is an ordinary event:
 * DEBUG; an HTTP/2 connection error is the codec's to answer (GOAWAY with its code, then close): DEBUG, and the
 * channel is left to the codec; anything else: WARN, one line, no stack trace (DEBUG has it).
 *
 * <p>Stateless and {@link ChannelHandler.Sharable}.
 */
@ChannelHandler.Sharable
final class AgentConnectionErrors extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(AgentConnectionErrors.class);
    static final AgentConnectionErrors INSTANCE = new AgentConnectionErrors();

    private AgentConnectionErrors() {}

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
            // The frame codec passes its connection errors on before it answers them: it sends the GOAWAY with the
            // error's code and closes. Closing here first would send a GOAWAY with NO_ERROR instead.
            log.debug("[{}] HTTP/2 connection error, answered with GOAWAY: {}", ctx.channel().id(), cause.toString());
            return;
        }
        log(ctx, cause);
        ctx.close();
    }

    /** Logs {@code cause} of the agent connection {@code ctx} once, at the level {@link AgentConnectionErrors} says. */
    static void log(ChannelHandlerContext ctx, Throwable cause) {
        if (isDisconnect(cause)) {
            log.debug("[{}] agent connection closed by the agent: {}", ctx.channel().id(), cause.toString());
        } else if (log.isDebugEnabled()) {
            log.debug("[{}] agent connection error, closing", ctx.channel().id(), cause);
        } else {
            log.warn("[{}] agent connection error, closing: {}", ctx.channel().id(), cause.toString());
        }
    }

    /**
     * Whether {@code cause} only says the peer went away: the channel is closed, or a socket error of a reset or
     * broken connection (not a TLS failure: those are refusals, counted and audited elsewhere).
     */
    static boolean isDisconnect(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ClosedChannelException) {
                return true;
            }
            if (t instanceof IOException && !(t instanceof SSLException) && t.getMessage() != null) {
                String m = t.getMessage().toLowerCase(Locale.ROOT);
                if (m.contains("connection reset") || m.contains("broken pipe")) {
                    return true;
                }
            }
        }
        return false;
    }
}
