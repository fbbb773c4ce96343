package dev.toolgate.proxy;

import dev.toolgate.identity.PeerIdentity;
import dev.toolgate.identity.RejectedCertificateException;
import dev.toolgate.identity.SpiffeId;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After the TLS handshake: records the agent's SPIFFE ID (from its client certificate) on the channel, then builds the HTTP/2 or HTTP/1.1
 * pipeline that ALPN chose and removes itself. A client that offered no ALPN gets HTTP/1.1.
 */
final class ProtocolSelector extends ApplicationProtocolNegotiationHandler {
    private static final Logger log = LoggerFactory.getLogger(ProtocolSelector.class);

    /**
     * The verified SPIFFE ID of the agent's client certificate on this connection (set on the connection, read by
     * streams too); absent on a JWT-SVID listener's connection without a certificate.
     */
    static final AttributeKey<SpiffeId> PEER = AttributeKey.valueOf("toolgate.peer");

    private final ProxyRuntime rt;
    private final IdentityConnections perIdentity;
    private final RefusalAudit refusals;

    ProtocolSelector(ProxyRuntime rt, IdentityConnections perIdentity, RefusalAudit refusals) {
        super(ApplicationProtocolNames.HTTP_1_1);
        this.rt = rt;
        this.perIdentity = perIdentity;
        this.refusals = refusals;
    }

    @Override
    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) throws SSLPeerUnverifiedException {
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        SpiffeId peer;
        if (rt.access().jwt() == null) {
            peer = PeerIdentity.of(tls.engine().getSession());
        } else {
            // Client certificate optional: without one, every request must carry its own JWT-SVID (RequestIdentity).
            peer = peerOrNull(tls);
        }
        if (peer != null && !rt.access().allows(peer)) {
            // A valid SVID, but not one this listener serves (access.agents).
            log.debug("[{}] agent {} is not among the allowed SPIFFE IDs; closing", ctx.channel().id(), peer);
            rt.metrics().handshakeFailure("id_not_allowed");
            refusals.refused(ctx.channel(), new HandshakeFailures.Refusal("id_not_allowed", peer.uri(), true,
                    leafFingerprint(tls), "agent " + peer + " is not among the allowed SPIFFE IDs (access.agents)"));
            ctx.close();
            return;
        }
        if (peer != null && !perIdentity.admit(peer, ctx.channel())) {
            log.debug("[{}] agent {} already holds {} connections; closing", ctx.channel().id(), peer,
                    rt.limits().maxConnectionsPerIdentity());
            rt.metrics().identityConnectionRefused();
            ctx.close();
            return;
        }
        if (peer != null) {
            ctx.channel().attr(PEER).set(peer);
        }
        log.debug("[{}] agent {} connected over {}", ctx.channel().id(),
                peer == null ? "(no client certificate; JWT-SVID per request)" : peer, protocol);
        ChannelPipeline p = ctx.pipeline();
        int maxHeader = rt.limits().maxHeaderBytes();
        if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
            p.addLast(Http2ServerCodec.build(Http2Settings.defaultSettings()
                    .maxHeaderListSize(maxHeader)
                    .maxConcurrentStreams(256), refusals));
            Http2ConnectionIdle idle = new Http2ConnectionIdle(ctx.channel(), rt.limits().idleTimeout(), rt.metrics());
            p.addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                @Override
                protected void initChannel(Http2StreamChannel ch) {
                    idle.streamOpened(ch);
                    ch.config().setAutoRead(false);
                    ch.pipeline().addLast(
                            new Http2HeadGuard(refusals),
                            new Http2StreamFrameToHttpObjectCodec(true, true),
                            new FlowControlHandler(),
                            new FrontendHandler(rt, refusals));
                }
            }), AgentConnectionErrors.INSTANCE);
        } else if (ApplicationProtocolNames.HTTP_1_1.equals(protocol)) {
            ctx.channel().config().setOption(ChannelOption.AUTO_READ, false);
            p.addLast(new StrictHttpRequestDecoder(rt.limits().maxInitialLineBytes(), maxHeader),
                    new HttpResponseEncoder(),
                    new FlowControlHandler(),
                    new FrontendHandler(rt, null));
        } else {
            throw new IllegalStateException("unexpected ALPN protocol: " + protocol);
        }
    }

    private static SpiffeId peerOrNull(SslHandler tls) throws SSLPeerUnverifiedException {
        javax.net.ssl.SSLSession session = tls.engine().getSession();
        java.security.cert.Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null; // no certificate presented
        }
        if (chain == null || chain.length == 0) {
            return null;
        }
        // A certificate was presented and verified in the handshake: its ID is the connection's identity.
        return PeerIdentity.of(session);
    }

    private static String leafFingerprint(SslHandler tls) {
        try {
            java.security.cert.Certificate[] chain = tls.engine().getSession().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof java.security.cert.X509Certificate leaf
                    ? RejectedCertificateException.fingerprint(leaf) : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
        if (AgentConnectionErrors.isDisconnect(cause)) {
            // Gone before ALPN picked a protocol: one DEBUG line, not Netty's WARN with a stack trace.
            AgentConnectionErrors.log(ctx, cause);
            ctx.close();
            return;
        }
        super.exceptionCaught(ctx, cause);
    }

    @Override
    protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
        // Audited (and logged at INFO) by RefusalAudit, aggregated; this line is per connection.
        log.debug("[{}] TLS handshake failed: {}", ctx.channel().id(), cause.toString());
        String reason = HandshakeFailures.reason(cause);
        rt.metrics().handshakeFailure(reason);
        HandshakeFailures.Refusal refusal = HandshakeFailures.refusal(reason, cause);
        if (refusal != null) {
            refusals.refused(ctx.channel(), refusal);
        }
        ctx.close();
    }
}
