package dev.toolgate.proxy;

import dev.toolgate.identity.TlsMaterial;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;

/** Assembles an agent connection's pipeline: TLS (client certificate required), then ALPN selection. */
final class AgentChannelInitializer extends ChannelInitializer<SocketChannel> {
    private final TlsMaterial tls;
    private final ProxyRuntime rt;

    AgentChannelInitializer(TlsMaterial tls, ProxyRuntime rt) {
        this.tls = tls;
        this.rt = rt;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        // Read per call, not once: a later issue rotates the material without restarting the listener.
        SslHandler ssl = tls.serverContext().newHandler(ch.alloc());
        ssl.setHandshakeTimeoutMillis(10_000);
        ch.pipeline().addLast(ssl, new ProtocolSelector(rt));
    }
}
