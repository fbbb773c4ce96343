package dev.toolgate.call;

/**
 * Normalizes a raw HTTP request-target into the {@link RequestTarget} that is both authorized and
 * forwarded. Because the same string is matched and sent upstream, the output is made to mean the
 * same thing to any reasonable upstream: anything that upstreams are known to read differently
 * (encoded slashes and backslashes, double encoding, NUL, path parameters, dot segments, empty
 * segments) is either resolved here or refused. When in doubt, it refuses.
 *
 * <p>The output is a fixed point: normalizing {@link RequestTarget#toUri()} again yields the same
 * target. The query is forwarded raw; it is only checked for printable ASCII.
 *
 * <p>Stateless and thread-safe.
 */
public final class PathNormalizer {

    /** Longest raw target accepted; matches the usual default request-line limits of upstreams. */
    public static final int MAX_TARGET_LENGTH = 8192;

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private PathNormalizer() {}

    /**
     * Normalizes a raw request-target as received on the wire (origin-form).
     *
     * @param rawTarget the request-target from the request line, or the {@code :path} pseudo-header
     * @return the normalized target; its path always starts with {@code '/'}
     * @throws RejectedTargetException if the target is refused; the message says why
     */
    public static RequestTarget normalize(String rawTarget) throws RejectedTargetException {
        if (rawTarget == null || rawTarget.isEmpty()) {
            throw new RejectedTargetException("empty request target");
        }
        // Checked before anything else so an oversized target costs no scanning.
        if (rawTarget.length() > MAX_TARGET_LENGTH) {
            throw new RejectedTargetException(
                    "request target longer than " + MAX_TARGET_LENGTH + " characters");
        }
        // "//host/x" is deliberately not special: it is an origin-form path with empty leading
        // segments, never an authority (opa-envoy CVE-2026-26205 dropped "//seg" from the path).
        if (rawTarget.charAt(0) != '/') {
            throw new RejectedTargetException(
                    "only origin-form request targets (starting with '/') are accepted");
        }
        int end = rawTarget.length();
        for (int i = 0; i < end; i++) {
            char c = rawTarget.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                throw new RejectedTargetException(
                        "non-printable or non-ASCII character in request target");
            }
        }
        int hash = rawTarget.indexOf('#');
        if (hash >= 0) {
            end = hash; // a fragment kept in the path once bypassed deny rules (CVE-2021-32779)
        }
        int question = rawTarget.indexOf('?');
        int pathEnd = question >= 0 && question < end ? question : end;
        String query = pathEnd < end ? rawTarget.substring(pathEnd + 1, end) : null;
        return new RequestTarget(resolveSegments(decode(rawTarget, pathEnd)), query);
    }

    /**
     * Validates the path's characters and percent-encodings, decodes encoded unreserved
     * characters once and turns '\' into '/'. Segments and parameters are left for later, so
     * every rule here also applies inside parameters that are dropped afterwards.
     */
    private static StringBuilder decode(String raw, int pathEnd) throws RejectedTargetException {
        StringBuilder buf = new StringBuilder(pathEnd);
        int utf8Pending = 0; // continuation bytes still expected
        int utf8Min = 0x80;
        int utf8Max = 0xBF;
        for (int i = 0; i < pathEnd; i++) {
            char c = raw.charAt(i);
            if (c != '%') {
                if (utf8Pending > 0) {
                    throw new RejectedTargetException("invalid UTF-8 in percent-encoding");
                }
                if (c == '\\') {
                    buf.append('/'); // what Istio does, and what Windows-backed upstreams do
                } else if (isUnreserved(c) || isSubDelim(c) || c == ':' || c == '@' || c == '/') {
                    buf.append(c);
                } else {
                    throw new RejectedTargetException("character '" + c + "' not allowed in path");
                }
                continue;
            }
            if (i + 2 >= pathEnd
                    || hexValue(raw.charAt(i + 1)) < 0 || hexValue(raw.charAt(i + 2)) < 0) {
                throw new RejectedTargetException("invalid percent-encoding");
            }
            int b = hexValue(raw.charAt(i + 1)) << 4 | hexValue(raw.charAt(i + 2));
            i += 2;
            // Overlong or truncated UTF-8 is how "%c0%ae%c0%ae" became ".." in lenient decoders
            // (Tomcat CVE-2008-2938); only well-formed UTF-8 (RFC 3629) passes.
            if (utf8Pending > 0) {
                if (b < utf8Min || b > utf8Max) {
                    throw new RejectedTargetException("invalid UTF-8 in percent-encoding");
                }
                utf8Pending--;
                utf8Min = 0x80;
                utf8Max = 0xBF;
                appendEncoded(buf, b);
                continue;
            }
            if (b >= 0x80) {
                utf8Pending = b < 0xC2 ? 0 : b <= 0xDF ? 1 : b <= 0xEF ? 2 : b <= 0xF4 ? 3 : 0;
                if (utf8Pending == 0) {
                    throw new RejectedTargetException("invalid UTF-8 in percent-encoding");
                }
                utf8Min = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
                utf8Max = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
                appendEncoded(buf, b);
                continue;
            }
            if (b == 0) {
                throw new RejectedTargetException("encoded NUL (%00) in path");
            }
            if (b < 0x20 || b == 0x7F) {
                // Decoded CR/LF or other controls reach logs and redirect headers upstream.
                throw new RejectedTargetException("encoded control character in path");
            }
            if (b == '/') {
                throw new RejectedTargetException("encoded slash (%2F) in path");
            }
            if (b == '\\') {
                throw new RejectedTargetException("encoded backslash (%5C) in path");
            }
            if (isUnreserved((char) b)) {
                buf.append((char) b); // so "%2e%2e" is resolved below as the ".." it is
            } else {
                appendEncoded(buf, b);
            }
        }
        if (utf8Pending > 0) {
            throw new RejectedTargetException("invalid UTF-8 in percent-encoding");
        }
        // Checked after decoding: "%25%32%65" must not become a "%252e" that a second decode
        // upstream turns into "%2e" and a third into ".". Every '%' in buf starts a valid triplet.
        for (int i = 0; i + 4 < buf.length(); i++) {
            if (buf.charAt(i) == '%' && buf.charAt(i + 1) == '2' && buf.charAt(i + 2) == '5'
                    && hexValue(buf.charAt(i + 3)) >= 0 && hexValue(buf.charAt(i + 4)) >= 0) {
                throw new RejectedTargetException(
                        "double percent-encoding (%25 followed by hex) in path");
            }
        }
        return buf;
    }

    /**
     * Drops ';' parameters from each segment, merges empty segments and resolves "." and ".."
     * (RFC 3986 section 5.2.4, clamped at the root). A path ending in an empty or dot segment keeps
     * its trailing slash.
     */
    private static String resolveSegments(StringBuilder buf) {
        StringBuilder out = new StringBuilder(buf.length());
        boolean trailingSlash = false;
        int n = buf.length();
        int i = 0; // always at a '/': buf starts with one and each segment ends at one or at n
        while (i < n) {
            int start = i + 1;
            int segEnd = start;
            while (segEnd < n && buf.charAt(segEnd) != '/') {
                segEnd++;
            }
            // Tomcat reads "/..;x/" as "/../", so parameters go before dot segments are judged.
            int contentEnd = start;
            while (contentEnd < segEnd && buf.charAt(contentEnd) != ';') {
                contentEnd++;
            }
            int len = contentEnd - start;
            if (len == 0 || (len == 1 && buf.charAt(start) == '.')) {
                trailingSlash = true;
            } else if (len == 2 && buf.charAt(start) == '.' && buf.charAt(start + 1) == '.') {
                out.setLength(Math.max(out.lastIndexOf("/"), 0));
                trailingSlash = true;
            } else {
                out.append('/').append(buf, start, contentEnd);
                trailingSlash = false;
            }
            i = segEnd;
        }
        if (out.length() == 0) {
            return "/";
        }
        return trailingSlash ? out.append('/').toString() : out.toString();
    }

    private static void appendEncoded(StringBuilder buf, int b) {
        buf.append('%').append(HEX[b >> 4]).append(HEX[b & 0xF]);
    }

    private static boolean isUnreserved(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '.' || c == '_' || c == '~';
    }

    private static boolean isSubDelim(char c) {
        return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*'
                || c == '+' || c == ',' || c == ';' || c == '=';
    }

    private static int hexValue(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    }
}
