package dev.toolgate.control;

import dev.toolgate.call.RequestHeaders;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The request headers as Envoy sends them: names lower-cased, either in {@code header_map} (one entry per
 * header line, when {@code encode_raw_headers} is set) or in {@code headers} (repeated headers joined with
 * commas). {@code header_map} wins when present: Envoy fills one or the other. Immutable view of one check's
 * request; thread-safe.
 */
final class EnvoyHeaders implements RequestHeaders {
    private final AttributeContext.HttpRequest http;

    EnvoyHeaders(AttributeContext.HttpRequest http) {
        this.http = http;
    }

    /** Envoy's {@code host} attribute (the {@code :authority}), or null. */
    @Override
    public String host() {
        return http.getHost().isEmpty() ? null : http.getHost();
    }

    /** Every header by lower-case name, repeated ones joined with {@code ", "}; pseudo-headers left out. */
    @Override
    public Map<String, String> asMap() {
        Map<String, String> m = new HashMap<>();
        if (http.hasHeaderMap() && http.getHeaderMap().getHeadersCount() > 0) {
            for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
                String v = h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8();
                put(m, h.getKey(), v);
            }
        } else {
            http.getHeadersMap().forEach((k, v) -> put(m, k, v));
        }
        return m;
    }

    private static void put(Map<String, String> m, String name, String value) {
        if (!name.startsWith(":")) {
            m.merge(name.toLowerCase(Locale.ROOT), value, (a, b) -> a + ", " + b);
        }
    }

    /** Every header name as Envoy sent it (per {@code header_map} entry, or per joined header), no pseudo-header. */
    @Override
    public List<String> names() {
        List<String> names = new ArrayList<>();
        if (http.hasHeaderMap() && http.getHeaderMap().getHeadersCount() > 0) {
            for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
                if (!h.getKey().startsWith(":")) {
                    names.add(h.getKey());
                }
            }
        } else {
            for (String k : http.getHeadersMap().keySet()) {
                if (!k.startsWith(":")) {
                    names.add(k);
                }
            }
        }
        return names;
    }

    /** Every value of {@code name}, each comma-separated element on its own; empty elements dropped. */
    @Override
    public List<String> values(String name) {
        List<String> values = new ArrayList<>();
        if (http.hasHeaderMap() && http.getHeaderMap().getHeadersCount() > 0) {
            for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
                if (h.getKey().equalsIgnoreCase(name)) {
                    split(h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8(), values);
                }
            }
        } else {
            String v = http.getHeadersMap().get(name);
            if (v != null) {
                split(v, values);
            }
        }
        return values;
    }

    /** The first value of {@code name} as sent (not split), or null. */
    @Override
    public String first(String name) {
        if (http.hasHeaderMap() && http.getHeaderMap().getHeadersCount() > 0) {
            for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
                if (h.getKey().equalsIgnoreCase(name)) {
                    return h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8();
                }
            }
            return null;
        }
        return http.getHeadersMap().get(name);
    }

    private static void split(String value, List<String> into) {
        for (String part : value.split(",", -1)) {
            String p = part.strip();
            if (!p.isEmpty()) {
                into.add(p);
            }
        }
    }
}
