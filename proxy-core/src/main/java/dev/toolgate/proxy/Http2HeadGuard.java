package dev.toolgate.proxy;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First handler of an agent's HTTP/2 stream, in front of the conversion to HTTP/1.x objects: resets, with
 * PROTOCOL_ERROR, a request head whose {@code :method} is not a token or whose request target ({@code :path}, or
 * {@code :authority} of a CONNECT) holds a space or line break. Netty's HTTP/2 header validation lets such values
 * through, and its conversion then throws while building the request — after allocating the body buffer of a
 * request that ends with its HEADERS, which it never releases (a leak any agent could repeat at will). RFC 9113
 * 8.1.1 makes a malformed request a stream error of type PROTOCOL_ERROR; nothing reaches the data plane, so the
 * reset is audited here ({@link RefusalAudit}, as the codec's own resets are).
 *
 * <p>Not thread-safe: used on its stream channel's event loop only.
 */
final class Http2HeadGuard extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(Http2HeadGuard.class);

    /** What makes a head malformed here: the rule's name (as audited) and a detail. */
    record Problem(String rule, String detail) {}

    private final RefusalAudit refusals;
    private boolean headSeen;

    Http2HeadGuard(RefusalAudit refusals) {
        this.refusals = refusals;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!headSeen && msg instanceof Http2HeadersFrame frame) {
            headSeen = true;
            Problem problem = problem(frame.headers());
            if (problem != null) {
                log.debug("[{}] malformed request head, resetting the stream: {}", ctx.channel().id(),
                        problem.detail());
                ReferenceCountUtil.release(msg);
                refusals.refused(ctx.channel(), Http2Refusal.head(problem.rule(), problem.detail(),
                        Http2Refusal.peer(ctx.channel())));
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR))
                        .addListener(ChannelFutureListener.CLOSE);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** Why Netty could not turn {@code h} into an HTTP/1.x request line, or {@code null}. */
    static Problem problem(Http2Headers h) {
        CharSequence method = h.method();
        if (method == null) {
            return null; // a missing :method is the codec's to refuse (required pseudo-headers are validated)
        }
        if (method.length() == 0 || HttpHeaderValidationUtil.validateToken(method) != -1) {
            return new Problem("method_not_token", ":method is not a token");
        }
        // The conversion takes the target from :authority for CONNECT (compared ignoring case), else from :path.
        CharSequence target = HttpMethod.CONNECT.asciiName().contentEqualsIgnoreCase(method) ? h.authority() : h.path();
        if (target != null && !HttpUtil.isEncodingSafeStartLineToken(target)) {
            return new Problem("request_target", "request target contains a space or a line break");
        }
        return null;
    }

    /**
     * The RST_STREAM error code for a failure on an agent's stream: the code of the HTTP/2 error the codec found
     * (content-length against the DATA frames, a missing pseudo-header, a malformed trailer, {@code host} against
     * {@code :authority}), PROTOCOL_ERROR for any other failure to decode the stream, {@code null} for the rest.
     */
    static Http2Error streamError(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof Http2Exception e) {
                return e.error();
            }
        }
        return cause instanceof DecoderException ? Http2Error.PROTOCOL_ERROR : null;
    }

    /** What the codec found, for the audit trail: the HTTP/2 error's message if there is one. */
    static String describe(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof Http2Exception && t.getMessage() != null) {
                return t.getMessage();
            }
        }
        return cause.toString();
    }
}
