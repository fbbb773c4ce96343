package dev.toolgate.proxy;

import dev.toolgate.call.IdentityHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Copies end-to-end headers from one message to the message the sidecar sends on, dropping everything that must
 * not cross the sidecar.
 *
 * <p>Always dropped: hop-by-hop headers (RFC 9110 7.6.1) and the headers a {@code Connection} header lists,
 * {@code Upgrade} and {@code HTTP2-Settings} (an h2c upgrade must never tunnel past the sidecar), Netty's
 * {@code x-http2-*} conversion headers (a client must not be able to set the scheme or stream id the sidecar uses
 * upstream). On requests also: {@code Host} (set to the upstream), {@code Expect} (answered by the sidecar),
 * {@code Authorization} (the agent never talks to a tool with its own credentials; the sidecar injects them),
 * {@code toolgate-task} (the task token stays in the sidecar), {@code traceparent} (re-set) and the headers by
 * which a proxy tells a backend who the caller is or where the call came from ({@link IdentityHeaders}, every
 * {@code x-forwarded-*}; ext_authz has Envoy remove the same): only the sidecar vouches for the caller, and it does
 * so with the route's credential, so an agent's {@code X-Forwarded-Client-Cert} or {@code X-Spiffe-Id} never
 * reaches a backend that might trust it. They are dropped, not refused, and the call's audit record is the same
 * either way. Headers the sidecar adds are set after the copy, so a {@code Connection} list cannot remove them; nor
 * can it remove {@code Content-Length}, which frames the body the sidecar forwards (without it the upstream would
 * read the body as the next request). Stateless.
 */
final class HopByHop {

    static final AsciiString TOOLGATE_TASK = AsciiString.cached("toolgate-task");
    static final AsciiString TRACEPARENT = AsciiString.cached("traceparent");
    private static final AsciiString HTTP2_SETTINGS = AsciiString.cached("http2-settings");
    private static final AsciiString PROXY_CONNECTION = AsciiString.cached("proxy-connection");
    private static final String NETTY_EXTENSION_PREFIX = "x-http2-";
    /**
     * The sidecar's own request headers ({@code x-toolgate-spiffe-id}, {@code x-toolgate-task-id},
     * {@code x-toolgate-decision-id}, which Envoy also adds after an ext_authz check): a backend may trust them, so
     * an agent's copy never crosses, on any route.
     */
    static final String SIDECAR_PREFIX = "x-toolgate-";

    /** {@link IdentityHeaders#NAMES}, looked up without copying each name to a string. */
    private static final Set<AsciiString> IDENTITY = IdentityHeaders.NAMES.stream().map(AsciiString::cached)
            .collect(Collectors.toUnmodifiableSet());
    private static final Set<AsciiString> ALWAYS = Set.of(
            HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, PROXY_CONNECTION, HttpHeaderNames.TE,
            HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE, HTTP2_SETTINGS,
            HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION, HttpHeaderNames.TRAILER);
    /** Never dropped because a {@code Connection} header lists them: the message framing depends on them. */
    private static final Set<AsciiString> FRAMING = Set.of(HttpHeaderNames.CONTENT_LENGTH);
    private static final Set<AsciiString> REQUEST_ONLY = Set.of(
            HttpHeaderNames.HOST, HttpHeaderNames.EXPECT, HttpHeaderNames.AUTHORIZATION, TOOLGATE_TASK, TRACEPARENT);

    private HopByHop() {}

    /** Copies request headers that may go upstream. */
    static void copyRequest(HttpHeaders in, HttpHeaders out) {
        copy(in, out, true);
    }

    /**
     * Copies request trailer fields that may go upstream: the request rules, and never a framing field (a trailer
     * must not carry credentials past the sidecar, nor change how the body was framed).
     */
    static void copyRequestTrailers(HttpHeaders in, HttpHeaders out) {
        HttpHeaders copied = new io.netty.handler.codec.http.DefaultHttpHeaders();
        copy(in, copied, true);
        copied.remove(HttpHeaderNames.CONTENT_LENGTH);
        out.add(copied);
    }

    /** Copies response headers that may go back to the agent. */
    static void copyResponse(HttpHeaders in, HttpHeaders out) {
        copy(in, out, false);
    }

    private static void copy(HttpHeaders in, HttpHeaders out, boolean request) {
        Set<String> listed = connectionListed(in);
        Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            AsciiString name = AsciiString.of(e.getKey()).toLowerCase();
            if (ALWAYS.contains(name) || request && (REQUEST_ONLY.contains(name) || identity(name)
                    || name.startsWith(SIDECAR_PREFIX))
                    || name.startsWith(NETTY_EXTENSION_PREFIX)
                    || listed != null && listed.contains(name.toString()) && !FRAMING.contains(name)) {
                continue;
            }
            out.add(name, e.getValue());
        }
    }

    /** Whether {@code name} (lower case) asserts who calls or from where: never forwarded from the agent. */
    static boolean identity(AsciiString name) {
        return IDENTITY.contains(name) || name.startsWith(IdentityHeaders.FORWARDED_PREFIX);
    }

    /**
     * Whether a request trailer field is one the request rules would drop (framing, hop-by-hop, credentials, the
     * task token, identity assertions, the sidecar's own headers): such a trailer makes the body malformed.
     */
    static boolean refusedInTrailer(CharSequence field) {
        AsciiString name = AsciiString.of(field).toLowerCase();
        return ALWAYS.contains(name) || REQUEST_ONLY.contains(name) || FRAMING.contains(name) || identity(name)
                || name.startsWith(SIDECAR_PREFIX);
    }

    private static Set<String> connectionListed(HttpHeaders in) {
        List<String> values = in.getAll(HttpHeaderNames.CONNECTION);
        if (values.isEmpty()) {
            return null;
        }
        Set<String> names = new HashSet<>();
        for (String v : values) {
            for (String token : v.split(",")) {
                String t = token.trim().toLowerCase(java.util.Locale.ROOT);
                if (!t.isEmpty()) {
                    names.add(t);
                }
            }
        }
        return names;
    }
}
