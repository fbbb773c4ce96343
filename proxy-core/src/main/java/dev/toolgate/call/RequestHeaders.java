package dev.toolgate.call;

import java.util.List;
import java.util.Map;

/**
 * The host and headers of the request a {@link Call} was made by, as policy conditions see them
 * ({@code request.host}, {@code request.headers}). Implemented by each front end over its own header type and read
 * only when a condition asks, so a decision without such a condition costs nothing for them.
 *
 * <p>Names are lower case; several values of one header are joined with {@code ", "} (RFC 9110, 5.3). Which headers
 * a condition may never see (credentials, the task token) is policy's rule, not the implementation's.
 */
public interface RequestHeaders {
    /** A request without headers (calls made in tests and benchmarks). */
    RequestHeaders NONE = new RequestHeaders() {
        @Override
        public String host() {
            return null;
        }

        @Override
        public Map<String, String> asMap() {
            return Map.of();
        }

        @Override
        public List<String> values(String name) {
            return List.of();
        }
    };

    /** The host the agent addressed ({@code Host} or {@code :authority}), or null. */
    String host();

    /** Every header by lower-case name; a new map on each call. */
    Map<String, String> asMap();

    /**
     * Every value of the header {@code name} (case-insensitive), each as its own element: one per header line
     * where the transport keeps lines apart, one per comma-separated element where it joined them (Envoy). The
     * admission step counts them (one task token, one session id).
     */
    List<String> values(String name);

    /**
     * Every header name as the request carried it (case kept where the transport keeps it; once per header line
     * or once per name; pseudo-headers left out): what the header-name rule ({@link HeaderNames}) and the identity
     * headers ({@link IdentityHeaders}) look at. A front end answers without copying values; this default copies.
     */
    default Iterable<? extends CharSequence> names() {
        return asMap().keySet();
    }

    /** Whether the request carries {@code name} at all (even empty); a front end answers without copying. */
    default boolean contains(String name) {
        return !values(name).isEmpty();
    }

    /** The first value of {@code name}, or null when the request has none. */
    default String first(String name) {
        List<String> v = values(name);
        return v.isEmpty() ? null : v.get(0);
    }
}
