package dev.toolgate.proxy;

import dev.toolgate.telemetry.ProxyMetrics;
import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Closes an agent's HTTP/2 connection (GOAWAY, then the close) once it has had no open stream for
 * {@code limits.idleTimeout}: from the handshake, or from its last stream's end. Frames without a stream (PING,
 * SETTINGS, a HEADERS block never finished) do not keep it open.
 *
 * <p>Not thread-safe: used on the connection's event loop only (its streams share it).
 */
final class Http2ConnectionIdle {
    private final Channel connection;
    private final Duration limit;
    private final ProxyMetrics metrics;
    private int open;
    private ScheduledFuture<?> timer;

    Http2ConnectionIdle(Channel connection, Duration limit, ProxyMetrics metrics) {
        this.connection = connection;
        this.limit = limit;
        this.metrics = metrics;
        arm();
        connection.closeFuture().addListener(f -> cancel());
    }

    /** A stream opened on the connection: no idle time while it lasts. */
    void streamOpened(Channel stream) {
        open++;
        cancel();
        stream.closeFuture().addListener(f -> {
            if (--open == 0 && connection.isActive()) {
                arm();
            }
        });
    }

    private void arm() {
        cancel();
        timer = connection.eventLoop().schedule(() -> {
            timer = null;
            if (open == 0) {
                metrics.agentTimeout("idle");
                connection.close();
            }
        }, limit.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
