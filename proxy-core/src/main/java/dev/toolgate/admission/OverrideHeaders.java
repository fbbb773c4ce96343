package dev.toolgate.admission;

import dev.toolgate.call.RequestHeaders;
import java.util.List;

/**
 * Request headers that make a backend run another method or path than the request line names
 * ({@code X-HTTP-Method-Override: DELETE} on a {@code GET}, {@code X-Original-URL: /admin}). A grant on
 * {@code METHOD /path} and the audit record both name the request line, so a request carrying one of these is
 * refused rather than stripped: the agent learns that its call would not mean what it says. Checked by
 * {@link Admission#head}, so every front end (the listener, ext_authz) refuses alike.
 *
 * <p>Stateless and thread-safe.
 */
final class OverrideHeaders {
    /**
     * Lower-case names; frameworks honour each of them somewhere (Rails, Symfony, Express, IIS URL Rewrite, ...).
     * Not here: headers a mesh in front of ext_authz sets itself on every request ({@code x-envoy-original-path},
     * {@code x-forwarded-prefix}); the data plane strips what an agent sends of those.
     */
    static final List<String> NAMES = List.of(
            "x-http-method-override", "x-http-method", "x-method-override", "x-original-method",
            "x-original-url", "x-rewrite-url", "x-override-url", "x-original-uri",
            "x-forwarded-method", "x-forwarded-uri", "x-forwarded-path");

    private OverrideHeaders() {}

    /** The name of the first override header {@code headers} carries (even empty), or {@code null} for none. */
    static String present(RequestHeaders headers) {
        for (String name : NAMES) {
            if (headers.contains(name)) {
                return name;
            }
        }
        return null;
    }
}
