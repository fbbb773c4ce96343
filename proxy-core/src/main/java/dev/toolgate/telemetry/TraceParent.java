package dev.toolgate.telemetry;

import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A W3C {@code traceparent} value (version 00): the trace an agent's call belongs to.
 *
 * <p>A valid incoming header is continued (same trace id, sampled flag kept); a missing or malformed one starts
 * a new trace, so every forwarded call carries exactly one well-formed {@code traceparent}.
 *
 * @param traceId 32 lowercase hex digits, not all zero
 * @param spanId  16 lowercase hex digits, not all zero
 * @param flags   2 lowercase hex digits
 */
public record TraceParent(String traceId, String spanId, String flags) {

    /** Continues {@code header} if it is a valid version-00 traceparent, else starts a new sampled trace. */
    public static TraceParent continueOrStart(CharSequence header) {
        return parse(header).orElseGet(TraceParent::start);
    }

    /** The traceparent in {@code header}, if it is a valid version-00 one (lowercase hex, ids not all zero). */
    public static Optional<TraceParent> parse(CharSequence header) {
        if (header != null && header.length() == 55) {
            String h = header.toString();
            if (h.startsWith("00-") && h.charAt(35) == '-' && h.charAt(52) == '-'
                    && isHex(h, 3, 35) && isHex(h, 36, 52) && isHex(h, 53, 55)
                    && !isZero(h, 3, 35) && !isZero(h, 36, 52)) {
                return Optional.of(new TraceParent(h.substring(3, 35), h.substring(36, 52), h.substring(53, 55)));
            }
        }
        return Optional.empty();
    }

    /** A new sampled trace with a random trace id and span id. */
    public static TraceParent start() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return new TraceParent(hex(r.nextLong() | 1L, 16) + hex(r.nextLong(), 16), hex(r.nextLong() | 1L, 16), "01");
    }

    /** The same trace with a new span id: the sidecar's own hop. */
    public TraceParent nextHop() {
        return new TraceParent(traceId, hex(ThreadLocalRandom.current().nextLong() | 1L, 16), flags);
    }

    /** The header value. */
    public String header() {
        return "00-" + traceId + '-' + spanId + '-' + flags;
    }

    private static boolean isHex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static boolean isZero(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (s.charAt(i) != '0') {
                return false;
            }
        }
        return true;
    }

    private static String hex(long v, int digits) {
        String s = Long.toHexString(v);
        return "0".repeat(digits - s.length()) + s;
    }
}
