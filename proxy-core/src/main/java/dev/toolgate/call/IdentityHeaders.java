package dev.toolgate.call;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Request headers by which a proxy, load balancer or mesh tells a backend who the caller is or where the call came
 * from (RFC 7239 {@code Forwarded}, RFC 9440 {@code Client-Cert}, Envoy's {@code X-Forwarded-Client-Cert}, nginx and
 * CDN conventions, {@code X-Spiffe-Id}), and every {@code X-Forwarded-*}. Only the sidecar vouches for the caller
 * (with the route's credential), so an agent's copy never reaches a backend that might trust it: the data plane
 * drops them when it copies the request ({@code proxy.HopByHop}), and ext_authz tells Envoy to remove them
 * ({@code headers_to_remove}). One list for both.
 *
 * <p>Stateless and thread-safe.
 */
public final class IdentityHeaders {
    /** Every name that starts with this (lower case) asserts where the call came from. */
    public static final String FORWARDED_PREFIX = "x-forwarded-";

    /**
     * The names, lower case: the identity assertions, then the {@code x-forwarded-*} names proxies commonly set
     * (listed so a front end that can only remove names it is given, like Envoy, removes them even when it did not
     * show them; {@link #isIdentity} covers every other name with {@link #FORWARDED_PREFIX}).
     */
    public static final List<String> NAMES = List.of(
            "forwarded", "x-real-ip", "x-client-ip", "x-cluster-client-ip", "true-client-ip", "cf-connecting-ip",
            "fastly-client-ip", "x-original-forwarded-for", "x-spiffe-id", "x-client-cert", "x-client-cert-chain",
            "client-cert", "client-cert-chain", "x-ssl-client-cert", "x-ssl-cert", "ssl-client-cert",
            "x-ssl-client-verify", "x-ssl-client-dn", "x-ssl-client-s-dn", "x-client-verify", "x-client-dn",
            "x-envoy-external-address", "x-envoy-internal", "x-envoy-original-path", "x-remote-user", "remote-user",
            "x-authenticated-user",
            "x-forwarded-client-cert", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
            "x-forwarded-port", "x-forwarded-prefix", "x-forwarded-server", "x-forwarded-ssl", "x-forwarded-scheme",
            "x-forwarded-user", "x-forwarded-email", "x-forwarded-preferred-username", "x-forwarded-groups",
            "x-forwarded-access-token");

    private static final Set<String> SET = Set.copyOf(NAMES);

    private IdentityHeaders() {}

    /** Whether {@code lowerCaseName} asserts who calls or from where: never forwarded from the agent. */
    public static boolean isIdentity(CharSequence lowerCaseName) {
        requireNonNull(lowerCaseName, "lowerCaseName");
        String name = lowerCaseName.toString();
        return SET.contains(name) || name.startsWith(FORWARDED_PREFIX);
    }

    /**
     * What a front end that removes headers by name must remove from the request {@code headers}: {@link #NAMES},
     * then every other name of the request that {@link #isIdentity} (lower case, once each, in that order).
     */
    public static List<String> toRemove(RequestHeaders headers) {
        requireNonNull(headers, "headers");
        Set<String> out = new LinkedHashSet<>(NAMES);
        for (CharSequence name : headers.names()) {
            String lower = name.toString().toLowerCase(Locale.ROOT);
            if (isIdentity(lower)) {
                out.add(lower);
            }
        }
        return new ArrayList<>(out);
    }
}
