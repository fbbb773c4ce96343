package dev.toolgate.identity;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolConfig.Protocol;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLException;

/** Builds the Netty contexts of {@link StaticTlsMaterial}. */
final class SslContexts {

    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    /**
     * AEAD suites with forward secrecy only: what RFC 9113 requires for h2 over TLS 1.2, and no
     * reason to offer less to HTTP/1.1 agents. TLS 1.3 suites are all allowed.
     */
    static final List<String> CIPHERS = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /** SVIDs live hours; a resumed session must not outlive a rotation by much. */
    static final long SESSION_TIMEOUT_SECONDS = 300;

    private SslContexts() {}

    static SslProvider defaultProvider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    static SslContext server(Svid own, SvidVerifier verifier, SslProvider provider, ClientAuth clientAuth)
            throws SSLException {
        return SslContextBuilder.forServer(own.key(), own.chain())
                .sslProvider(provider)
                .clientAuth(clientAuth)
                .trustManager(new SvidTrustManager(verifier))
                .protocols(PROTOCOLS)
                .ciphers(CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                .sessionTimeout(SESSION_TIMEOUT_SECONDS)
                .applicationProtocolConfig(alpn(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1))
                .build();
    }

    static SslContext client(Svid own, SpiffeId expected, boolean http2, TrustBundles bundles,
            SslProvider provider, Clock clock) throws SSLException {
        SvidVerifier verifier = new SvidVerifier(bundles, Optional.of(expected), clock);
        return SslContextBuilder.forClient()
                .sslProvider(provider)
                .keyManager(own.key(), own.chain())
                .trustManager(new SvidTrustManager(verifier))
                // The SPIFFE ID check replaces hostname verification (Netty 4.2 enables it by default).
                .endpointIdentificationAlgorithm(null)
                .protocols(PROTOCOLS)
                .ciphers(CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                .sessionTimeout(SESSION_TIMEOUT_SECONDS)
                .applicationProtocolConfig(alpn(http2 ? ApplicationProtocolNames.HTTP_2 : ApplicationProtocolNames.HTTP_1_1))
                .build();
    }

    private static ApplicationProtocolConfig alpn(String... protocols) {
        return new ApplicationProtocolConfig(Protocol.ALPN, SelectorFailureBehavior.NO_ADVERTISE,
                SelectedListenerFailureBehavior.ACCEPT, protocols);
    }
}
