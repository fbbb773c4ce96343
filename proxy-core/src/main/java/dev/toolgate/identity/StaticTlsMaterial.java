package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import javax.net.ssl.SSLException;

/**
 * {@link TlsMaterial} over a fixed SVID and bundles. The server context is built eagerly so a bad
 * key fails at startup; upstream contexts are built once per (expected ID, protocol) and cached.
 * One context per expected ID also keeps TLS session resumption per identity: a session verified
 * for one upstream ID is never resumed for another. Thread-safe.
 */
final class StaticTlsMaterial implements TlsMaterial {

    private record UpstreamKey(SpiffeId expected, boolean http2) {}

    private final Svid own;
    private final TrustBundles bundles;
    private final SslProvider provider;
    private final Clock clock;
    private final SslContext server;
    private volatile SslContext serverOptional;
    private final ConcurrentMap<UpstreamKey, SslContext> upstream = new ConcurrentHashMap<>();

    private StaticTlsMaterial(Svid own, TrustBundles bundles, SslProvider provider, Clock clock, SslContext server) {
        this.own = own;
        this.bundles = bundles;
        this.provider = provider;
        this.clock = clock;
        this.server = server;
    }

    static StaticTlsMaterial create(Svid own, TrustBundles bundles, SslProvider provider, Clock clock) {
        requireNonNull(own, "own");
        requireNonNull(bundles, "bundles");
        requireNonNull(provider, "provider");
        requireNonNull(clock, "clock");
        try {
            SslContext server = SslContexts.server(own, new SvidVerifier(bundles, Optional.empty(), clock), provider,
                    ClientAuth.REQUIRE);
            return new StaticTlsMaterial(own, bundles, provider, clock, server);
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build the TLS server context for " + own.id() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public SslContext serverContext(boolean clientCertificateRequired) {
        if (clientCertificateRequired) {
            return server;
        }
        SslContext c = serverOptional;
        if (c == null) {
            synchronized (this) {
                c = serverOptional;
                if (c == null) {
                    try {
                        c = SslContexts.server(own, new SvidVerifier(bundles, Optional.empty(), clock), provider,
                                ClientAuth.OPTIONAL);
                    } catch (SSLException e) {
                        throw new IllegalStateException("cannot build the TLS server context for " + own.id() + ": "
                                + e.getMessage(), e);
                    }
                    serverOptional = c;
                }
            }
        }
        return c;
    }

    @Override
    public SslContext upstreamContext(SpiffeId expected, boolean http2) {
        requireNonNull(expected, "expected");
        return upstream.computeIfAbsent(new UpstreamKey(expected, http2), key -> {
            try {
                return SslContexts.client(own, key.expected(), key.http2(), bundles, provider, clock);
            } catch (SSLException e) {
                throw new IllegalStateException("cannot build the TLS client context for upstream "
                        + key.expected() + ": " + e.getMessage(), e);
            }
        });
    }

    @Override
    public Svid svid() {
        return own;
    }

    @Override
    public String toString() {
        return "StaticTlsMaterial{id=" + own.id() + ", bundles=" + bundles + ", provider=" + provider + "}";
    }
}
