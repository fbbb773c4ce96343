package dev.toolgate.bench;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One load run: where to send, how (HTTP/1.1 or HTTP/2, plain or TLS with a client certificate), how fast and for
 * how long.
 *
 * @param target      {@code http://} or {@code https://} URL; its path (and query) is requested
 * @param protocol    {@link Protocol#H1} or {@link Protocol#H2} (ALPN on TLS, prior knowledge on plaintext)
 * @param payload     what the body is: bytes, a JSON-RPC {@code tools/call}, or a gRPC unary call
 * @param rate        requests per second, open loop (intended send times fixed in advance); {@code 0} for closed
 *                    loop (each connection sends again as soon as its previous response ended: saturation)
 * @param connections TCP connections, each on the generator's event loops
 * @param maxInFlight requests outstanding on one connection (HTTP/1.1: always 1, no pipelining; HTTP/2: streams)
 * @param warmup      sent but not recorded
 * @param duration    the measured window
 * @param bodyBytes   request body size (the upstream answers its own fixed size)
 * @param threads     generator event loop threads
 * @param clientCert  PEM certificate chain to present (TLS only; {@code null} for none)
 * @param clientKey   PEM PKCS#8 key of {@code clientCert}
 * @param trust       PEM CA bundle the server is verified against ({@code null} with TLS: trust anything)
 * @param cpuPids     processes whose CPU time (/proc/PID/stat) is read at the start and end of the window
 * @param headers     extra request headers sent on every request (e.g. {@code toolgate-task: <token>}), in order
 */
public record LoadOptions(
        URI target, Protocol protocol, Payload payload, int rate, int connections, int maxInFlight,
        Duration warmup, Duration duration, int bodyBytes, int threads, Path clientCert, Path clientKey,
        Path trust, List<Integer> cpuPids, List<Header> headers) {

    /**
     * One extra request header. The name is kept in lower case (HTTP/2 requires it; HTTP/1.1 does not care); the
     * value may be a secret such as a task token, so {@link #toString()} does not show it.
     */
    public record Header(String name, String value) {
        /** Set by the generator itself, or connection-specific (refused on HTTP/2): not for {@code --header}. */
        private static final Set<String> RESERVED = Set.of("host", "content-type", "content-length", "te",
                "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade");

        public Header {
            requireNonNull(name, "name");
            requireNonNull(value, "value");
            if (name.isEmpty() || !name.chars().allMatch(Header::tchar)) {
                throw new IllegalArgumentException("header name: \"" + name + "\" (expected: an HTTP token)");
            }
            name = name.toLowerCase(Locale.ROOT);
            if (RESERVED.contains(name)) {
                throw new IllegalArgumentException("header " + name + ": set by the generator or connection-specific"
                        + " (expected: another header)");
            }
            if (!value.chars().allMatch(c -> c == '\t' || c >= 0x20 && c < 0x7F)) {
                throw new IllegalArgumentException("header " + name + ": the value has control or non-ASCII"
                        + " characters (expected: visible ASCII)");
            }
        }

        /**
         * Parses {@code name: value}; the space after the colon is optional, so {@code name:value} fits on one
         * whitespace-separated line of a {@code batch} plan.
         */
        public static Header parse(String text) {
            int colon = text.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--header: \"" + text + "\" (expected: name: value)");
            }
            return new Header(text.substring(0, colon), text.substring(colon + 1).strip());
        }

        private static boolean tchar(int c) {
            return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
        }

        @Override
        public String toString() {
            return name + ": (" + value.length() + " characters)";
        }
    }

    /** Wire protocol towards the target. */
    public enum Protocol { H1, H2 }

    /** What a request carries. */
    public enum Payload {
        /** {@code POST} with {@code bodyBytes} of {@code application/octet-stream}. */
        BYTES,
        /** {@code POST} of a JSON-RPC 2.0 {@code tools/call} padded to {@code bodyBytes}. */
        MCP,
        /** gRPC unary {@code grpc.testing.SimpleService/UnaryRpc} over HTTP/2; the target's path is ignored. */
        GRPC
    }

    public LoadOptions {
        requireNonNull(target, "target");
        requireNonNull(protocol, "protocol");
        requireNonNull(payload, "payload");
        requireNonNull(warmup, "warmup");
        requireNonNull(duration, "duration");
        if (!"http".equals(target.getScheme()) && !"https".equals(target.getScheme())) {
            throw new IllegalArgumentException("target: " + target + " (expected: http:// or https://)");
        }
        if (payload == Payload.GRPC && protocol != Protocol.H2) {
            throw new IllegalArgumentException("payload grpc needs protocol h2");
        }
        if (rate < 0) {
            throw new IllegalArgumentException("rate: " + rate + " (expected: >= 0, 0 for closed loop)");
        }
        if (connections <= 0) {
            throw new IllegalArgumentException("connections: " + connections + " (expected: > 0)");
        }
        if (maxInFlight <= 0) {
            throw new IllegalArgumentException("maxInFlight: " + maxInFlight + " (expected: > 0)");
        }
        if (protocol == Protocol.H1 && maxInFlight != 1) {
            throw new IllegalArgumentException("maxInFlight: " + maxInFlight + " (expected: 1 for HTTP/1.1)");
        }
        if (duration.isNegative() || duration.isZero() || warmup.isNegative()) {
            throw new IllegalArgumentException("duration: " + duration + ", warmup: " + warmup
                    + " (expected: duration > 0, warmup >= 0)");
        }
        if (bodyBytes < 0) {
            throw new IllegalArgumentException("bodyBytes: " + bodyBytes + " (expected: >= 0)");
        }
        if (threads <= 0) {
            throw new IllegalArgumentException("threads: " + threads + " (expected: > 0)");
        }
        if ((clientCert == null) != (clientKey == null)) {
            throw new IllegalArgumentException("clientCert and clientKey go together");
        }
        cpuPids = cpuPids == null ? List.of() : List.copyOf(cpuPids);
        headers = headers == null ? List.of() : List.copyOf(headers);
    }

    /** Plain defaults for tests: 1 KiB bodies, 1 thread, no warmup, no CPU accounting. */
    public static LoadOptions of(URI target, Protocol protocol, int rate, int connections, Duration duration) {
        return new LoadOptions(target, protocol, Payload.BYTES, rate, connections, protocol == Protocol.H1 ? 1 : 16,
                Duration.ZERO, duration, 1024, 1, null, null, null, null, null);
    }

    public boolean tls() {
        return "https".equals(target.getScheme());
    }

    public int port() {
        return target.getPort() != -1 ? target.getPort() : tls() ? 443 : 80;
    }

    /** Path and query to request. */
    public String pathAndQuery() {
        String p = target.getRawPath() == null || target.getRawPath().isEmpty() ? "/" : target.getRawPath();
        return target.getRawQuery() == null ? p : p + '?' + target.getRawQuery();
    }

    public LoadOptions withTls(Path cert, Path key, Path trustBundle) {
        return new LoadOptions(target, protocol, payload, rate, connections, maxInFlight, warmup, duration, bodyBytes,
                threads, cert, key, trustBundle, cpuPids, headers);
    }

    public LoadOptions withPayload(Payload newPayload) {
        return new LoadOptions(target, protocol, newPayload, rate, connections, maxInFlight, warmup, duration,
                bodyBytes, threads, clientCert, clientKey, trust, cpuPids, headers);
    }

    /** The same run with {@code name: value} added to every request. */
    public LoadOptions withHeader(String name, String value) {
        List<Header> more = new ArrayList<>(headers);
        more.add(new Header(name, value));
        return new LoadOptions(target, protocol, payload, rate, connections, maxInFlight, warmup, duration,
                bodyBytes, threads, clientCert, clientKey, trust, cpuPids, more);
    }
}
