package dev.toolgate.proxy;

import io.netty.handler.codec.http.HttpObject;

/** What a {@link BackendHandler} tells the exchange that owns its upstream channel. Called on the event loop. */
interface UpstreamListener {
    /** A response object; ownership passes to the listener. */
    void onUpstreamMessage(HttpObject msg);

    /** The upstream channel finished a read cycle: the moment to ask for the next one (once per cycle). */
    void onUpstreamReadComplete();

    /** The upstream channel can take more request bytes. */
    void onUpstreamWritable();

    /** The upstream channel closed (reset, idle close, protocol error). */
    void onUpstreamClosed();
}
