package dev.toolgate.proxy;

import dev.toolgate.identity.TlsMaterial;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Assembles an agent connection's pipeline: connection limit, TLS (client certificate required, or optional when
 * the listener accepts JWT-SVIDs; the handshake bounded by {@code limits.handshakeTimeout}), ALPN selection (which
 * also applies the per-identity connection limit).
 */
final class AgentChannelInitializer extends ChannelInitializer<SocketChannel> {
    private final TlsMaterial tls;
    private final ProxyRuntime rt;
    private final AtomicInteger openConnections = new AtomicInteger();
    private final IdentityConnections perIdentity;

    private final RefusalAudit refusals;

    AgentChannelInitializer(TlsMaterial tls, ProxyRuntime rt, RefusalAudit refusals) {
        this.tls = tls;
        this.rt = rt;
        this.refusals = refusals;
        this.perIdentity = new IdentityConnections(rt.limits().maxConnectionsPerIdentity());
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        // Read per call, not once: a later issue rotates the material without restarting the listener.
        // A listener that accepts JWT-SVIDs takes connections without a client certificate (each request then
        // proves its identity); a certificate that is presented is verified all the same.
        SslHandler ssl = tls.serverContext(rt.access().jwt() == null).newHandler(ch.alloc());
        ssl.setHandshakeTimeoutMillis(rt.limits().handshakeTimeout().toMillis());
        ch.pipeline().addLast(new ConnectionLimit(openConnections, rt.limits().maxConnections(), rt.metrics()), ssl,
                new ProtocolSelector(rt, perIdentity, refusals));
    }
}
