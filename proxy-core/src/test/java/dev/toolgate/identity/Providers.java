package dev.toolgate.identity;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.ArrayList;
import java.util.List;

/** The TLS providers the handshake tests run with: BoringSSL (when present) and the JDK fallback. */
final class Providers {

    private Providers() {}

    static List<SslProvider> all() {
        List<SslProvider> providers = new ArrayList<>();
        if (OpenSsl.isAvailable()) {
            providers.add(SslProvider.OPENSSL);
        }
        providers.add(SslProvider.JDK);
        return providers;
    }
}
