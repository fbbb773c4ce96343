package dev.toolgate.proxy;

import dev.toolgate.identity.SpiffeId;
import io.netty.channel.Channel;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The agent connections each SPIFFE ID holds, against {@code limits.maxConnectionsPerIdentity}: one agent cannot take
 * every slot of {@code limits.maxConnections} and lock the others out. A connection is counted once its client
 * certificate's ID is known (after the handshake) and uncounted when it closes.
 *
 * <p>Thread-safe: the listener's event loops share one instance.
 */
final class IdentityConnections {
    private final int max;
    private final ConcurrentMap<SpiffeId, Integer> open = new ConcurrentHashMap<>();

    IdentityConnections(int max) {
        this.max = max;
    }

    /**
     * Counts {@code ch} for {@code id} and uncounts it when it closes; false (nothing counted) when {@code id}
     * already holds the maximum.
     */
    boolean admit(SpiffeId id, Channel ch) {
        boolean[] admitted = {false};
        open.compute(id, (k, n) -> {
            int held = n == null ? 0 : n;
            if (held >= max) {
                return n;
            }
            admitted[0] = true;
            return held + 1;
        });
        if (admitted[0]) {
            ch.closeFuture().addListener(f -> open.computeIfPresent(id, (k, n) -> n <= 1 ? null : n - 1));
        }
        return admitted[0];
    }

    /** Connections {@code id} holds now. */
    int held(SpiffeId id) {
        return open.getOrDefault(id, 0);
    }
}
