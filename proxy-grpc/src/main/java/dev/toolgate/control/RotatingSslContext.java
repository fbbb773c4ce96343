package dev.toolgate.control;

import dev.toolgate.identity.TlsMaterial;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolNegotiator;
import io.netty.handler.ssl.SslContext;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSessionContext;

/**
 * A server {@link SslContext} that asks {@link TlsMaterial#serverContext()} again for every new connection, so the
 * control port follows SVID rotation like the data plane does (grpc-netty takes one context when the server is
 * built). Every engine therefore requires a client certificate and verifies it as an X.509-SVID; ALPN offers
 * {@code h2} (and {@code http/1.1}, which grpc-netty refuses after the handshake). Thread-safe.
 */
final class RotatingSslContext extends SslContext {
    private final TlsMaterial tls;

    RotatingSslContext(TlsMaterial tls) {
        this.tls = tls;
    }

    @Override
    public boolean isClient() {
        return false;
    }

    @Override
    public List<String> cipherSuites() {
        return tls.serverContext().cipherSuites();
    }

    @Override
    @SuppressWarnings("deprecation") // abstract in SslContext; grpc-netty reads the offered protocols from it
    public ApplicationProtocolNegotiator applicationProtocolNegotiator() {
        return tls.serverContext().applicationProtocolNegotiator();
    }

    @Override
    public SSLEngine newEngine(ByteBufAllocator alloc) {
        return tls.serverContext().newEngine(alloc);
    }

    @Override
    public SSLEngine newEngine(ByteBufAllocator alloc, String peerHost, int peerPort) {
        return tls.serverContext().newEngine(alloc, peerHost, peerPort);
    }

    @Override
    public SSLSessionContext sessionContext() {
        return tls.serverContext().sessionContext();
    }
}
