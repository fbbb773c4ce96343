package dev.toolgate.proxy;

import dev.toolgate.call.RequestHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The agent's request headers for policy conditions, over Netty's headers (HTTP/1.1, or HTTP/2 converted: the
 * {@code :authority} is the {@code Host}). Nothing is copied unless a condition reads them.
 */
final class NettyRequestHeaders implements RequestHeaders {
    private final HttpHeaders headers;

    NettyRequestHeaders(HttpHeaders headers) {
        this.headers = headers;
    }

    @Override
    public String host() {
        return headers.get(HttpHeaderNames.HOST);
    }

    @Override
    public Map<String, String> asMap() {
        Map<String, String> m = new HashMap<>();
        for (Map.Entry<String, String> h : headers) {
            m.merge(h.getKey().toLowerCase(Locale.ROOT), h.getValue(), (a, b) -> a + ", " + b);
        }
        return m;
    }

    @Override
    public List<String> values(String name) {
        return headers.getAll(name);
    }

    @Override
    public String first(String name) {
        return headers.get(name);
    }

    /** Each header line's name as received, without copying. */
    @Override
    public Iterable<CharSequence> names() {
        return () -> new Iterator<>() {
            private final Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence();

            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public CharSequence next() {
                return it.next().getKey();
            }
        };
    }

    @Override
    public boolean contains(String name) {
        return headers.contains(name);
    }
}
