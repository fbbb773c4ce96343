package dev.toolgate.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.net.BindException;
import java.util.Locale;

/**
 * Binds the sidecar's listeners (agent listener, admin port) so that a failure names the listener and the address:
 * {@code listener 127.0.0.1:15001: address already in use}, instead of a bare {@code BindException} that does not
 * say which of three ports it was. Stateless.
 */
final class Listeners {
    private Listeners() {}

    /**
     * Binds {@code bootstrap} to {@code address:port} and waits.
     *
     * @param what the listener's name in the message ({@code listener}, {@code admin port})
     * @throws StartupException     if the address cannot be bound (the message names {@code what} and the address)
     * @throws InterruptedException if interrupted while binding
     */
    static Channel bind(ServerBootstrap bootstrap, String what, String address, int port)
            throws StartupException, InterruptedException {
        ChannelFuture f = bootstrap.bind(address, port).await();
        if (!f.isSuccess()) {
            throw new StartupException(what + " " + address + ":" + port + ": " + why(f.cause()), f.cause());
        }
        return f.channel();
    }

    /** What an operator can act on, from the JDK's or the native transport's error text. */
    static String why(Throwable cause) {
        String msg = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
        if (msg.contains("address already in use")) {
            return "address already in use (another process listens there; choose another port or stop it)";
        }
        if (msg.contains("cannot assign requested address") || msg.contains("can't assign requested address")) {
            return "address not available on this host (expected: an address of one of its interfaces)";
        }
        if (msg.contains("permission denied") || msg.contains("access denied")) {
            return "permission denied (ports below 1024 need privileges)";
        }
        return cause instanceof BindException ? "cannot bind: " + cause.getMessage() : cause.toString();
    }
}
