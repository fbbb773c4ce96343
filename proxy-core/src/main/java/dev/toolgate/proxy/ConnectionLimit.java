package dev.toolgate.proxy;

import dev.toolgate.telemetry.ProxyMetrics;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First handler of every agent connection: counts it against the configured maximum and closes it at once, before
 * any TLS work, when the sidecar already holds that many. One instance per connection sharing one counter.
 */
final class ConnectionLimit extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ConnectionLimit.class);

    private final AtomicInteger open;
    private final int max;
    private final ProxyMetrics metrics;

    ConnectionLimit(AtomicInteger open, int max, ProxyMetrics metrics) {
        this.open = open;
        this.max = max;
        this.metrics = metrics;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (open.incrementAndGet() > max) {
            open.decrementAndGet();
            metrics.connectionRefused();
            log.debug("[{}] over the limit of {} agent connections; closed", ctx.channel().id(), max);
            ctx.close();
            return;
        }
        ctx.pipeline().remove(this);
        ctx.channel().closeFuture().addListener(f -> open.decrementAndGet());
        ctx.fireChannelActive();
    }
}
