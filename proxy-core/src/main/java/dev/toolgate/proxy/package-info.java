/**
 * The agent-facing data plane on Netty: the mTLS listener, ALPN selection of HTTP/1.1 or HTTP/2, the strict
 * HTTP/1.1 decoder, per-exchange forwarding with back-pressure, and pooled upstream connections that live on the
 * inbound channel's event loop.
 *
 * <p>{@link dev.toolgate.proxy.ProxyServer} is the only public type; handlers are package-private.
 */
package dev.toolgate.proxy;
