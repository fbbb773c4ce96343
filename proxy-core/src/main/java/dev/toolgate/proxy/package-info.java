/**
 * The agent-facing data plane on Netty: the mTLS listener, ALPN selection of HTTP/1.1 or HTTP/2, the strict
 * HTTP/1.1 decoder, per-exchange forwarding with back-pressure, and pooled upstream connections that live on the
 * inbound channel's event loop.
 *
 * <p>Public: {@link dev.toolgate.proxy.ProxyServer}, {@link dev.toolgate.proxy.AdminServer}, the route set in force
 * ({@link dev.toolgate.proxy.RouteSnapshot}) and its hot reload ({@link dev.toolgate.proxy.RouteReloader});
 * handlers are package-private.
 */
package dev.toolgate.proxy;
