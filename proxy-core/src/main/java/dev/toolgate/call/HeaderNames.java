package dev.toolgate.call;

import static java.util.Objects.requireNonNull;

/**
 * The rule for request header names, the same for every front end (the listener, Envoy's ext_authz): every name is
 * an RFC 9110 token without {@code _}. Servers that fold {@code _} into {@code -} (or CGI's {@code HTTP_X_Y}, where
 * both map to one name) would read {@code Transfer_Encoding} as framing or {@code X_Forwarded_For} as an identity
 * header the sidecar strips; others drop such names silently (nginx; Envoy with
 * {@code headers_with_underscores_action: DROP_HEADER}). Refusing is the one reading every backend agrees with.
 * The admission step ({@code admission.Admission.head}) applies it to every request.
 *
 * <p>Stateless and thread-safe.
 */
public final class HeaderNames {
    private static final int MAX_QUOTED_CHARS = 64;

    private HeaderNames() {}

    /** Why the first name of {@code headers} that breaks the rule does, or {@code null} when all keep it. */
    public static String refusal(RequestHeaders headers) {
        requireNonNull(headers, "headers");
        for (CharSequence name : headers.names()) {
            String why = refusal(name);
            if (why != null) {
                return why;
            }
        }
        return null;
    }

    /** Why {@code name} breaks the rule (it quotes the name, made printable), or {@code null} when it keeps it. */
    public static String refusal(CharSequence name) {
        requireNonNull(name, "name");
        if (name.length() == 0) {
            return "empty header name";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '_') {
                return "header name '" + printable(name)
                        + "' has an underscore (backends read it as '-' or drop it; send '-')";
            }
            if (!tchar(c)) {
                return "header name '" + printable(name) + "' is not an RFC 9110 token";
            }
        }
        return null;
    }

    /** RFC 9110 5.6.2 tchar. */
    private static boolean tchar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                || c < 128 && "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }

    /** The name as it may appear in a reason: other than visible ASCII as {@code [0xNN]}, at most 64 characters. */
    public static String printable(CharSequence name) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < name.length() && i < MAX_QUOTED_CHARS; i++) {
            char c = name.charAt(i);
            if (c < 0x21 || c > 0x7e || c == '\'' || c == '\\') {
                b.append(String.format("[0x%02x]", (int) c));
            } else {
                b.append(c);
            }
        }
        return name.length() > MAX_QUOTED_CHARS ? b + "..." : b.toString();
    }
}
