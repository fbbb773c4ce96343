package dev.toolgate.proxy;

import static java.util.Objects.requireNonNull;

import dev.toolgate.audit.AuditRecord;
import dev.toolgate.identity.SpiffeId;
import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2StreamChannel;
import java.time.Instant;
import java.util.Locale;

/**
 * One HTTP/2 refusal made before a request existed, as {@link RefusalAudit} aggregates and records it: a stream the
 * codec (or {@link Http2HeadGuard}) reset for a malformed head, or a connection it ended with GOAWAY for the agent's
 * protocol error. Aggregated per rule and agent.
 *
 * <p>The rule is a short, stable name for what was malformed ({@code invalid_header_name},
 * {@code invalid_header_value}, {@code pseudo_header}, {@code connection_specific_header},
 * {@code host_authority_conflict}, {@code content_length}, {@code header_list_too_large}, {@code hpack},
 * {@code rst_flood}, {@code frame_on_idle_stream}, {@code method_not_token}, {@code request_target},
 * {@code undecodable_head}, else the HTTP/2 error's name in lower case); {@code detail} is what the codec said (its
 * header names vary, so it is not part of the key). Immutable.
 *
 * @param rule       what was malformed
 * @param error      the RST_STREAM or GOAWAY error code sent
 * @param connection whether the connection ended (GOAWAY) rather than one stream
 * @param agent      the connection's verified client-certificate ID, or null
 * @param detail     what the codec found, for people; may be null
 */
record Http2Refusal(String rule, Http2Error error, boolean connection, String agent, String detail)
        implements RefusalAudit.Refusal {
    private static final int MAX_DETAIL_CHARS = 300;

    Http2Refusal {
        requireNonNull(rule, "rule");
        requireNonNull(error, "error");
    }

    /** The refusal of the codec's error {@code e} on a connection whose agent is {@code peer} (or null). */
    static Http2Refusal of(Http2Exception e, boolean connection, SpiffeId peer) {
        return new Http2Refusal(rule(e), e.error(), connection, peer == null ? null : peer.uri(), e.getMessage());
    }

    /**
     * A stream's head refused after the stream opened, reset with {@code error}: the codec's error in
     * {@code cause} (a bad {@code content-length}), else Netty's conversion to HTTP/1.x failed on it.
     */
    static Http2Refusal stream(Throwable cause, Http2Error error, SpiffeId peer) {
        Http2Exception e = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
        return e != null ? of(e, false, peer) : new Http2Refusal("undecodable_head", error, false,
                peer == null ? null : peer.uri(), Http2HeadGuard.describe(cause));
    }

    /** A head {@link Http2HeadGuard} refused: the stream is reset with PROTOCOL_ERROR. */
    static Http2Refusal head(String rule, String detail, SpiffeId peer) {
        return new Http2Refusal(rule, Http2Error.PROTOCOL_ERROR, false, peer == null ? null : peer.uri(), detail);
    }

    /** The verified client-certificate ID of the connection {@code channel} is (or is a stream of), or null. */
    static SpiffeId peer(Channel channel) {
        Channel connection = channel instanceof Http2StreamChannel ? channel.parent() : channel;
        return connection.attr(ProtocolSelector.PEER).get();
    }

    /** A stable name for what the codec refused, from the exception's type and message. */
    static String rule(Http2Exception e) {
        if (e instanceof Http2Exception.HeaderListSizeException) {
            return "header_list_too_large";
        }
        String m = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
        if (m.contains("connection-specific") || m.contains("'te' header")) {
            return "connection_specific_header";
        }
        if (m.contains("content-length")) {
            return "content_length";
        }
        if (m.contains("pseudo-header") || m.contains("mandatory")) {
            return "pseudo_header";
        }
        if (m.contains("conflicting")) {
            return "host_authority_conflict";
        }
        if (m.contains("invalid header name")) {
            return "invalid_header_name";
        }
        if (m.contains("header")) {
            return "invalid_header_value";
        }
        if (m.contains("hpack")) {
            return "hpack";
        }
        if (m.contains("rst frames")) {
            return "rst_flood";
        }
        if (m.contains("does not exist")) {
            return "frame_on_idle_stream";
        }
        return e.error().name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String subject() {
        return agent;
    }

    @Override
    public String variant() {
        return detail;
    }

    @Override
    public AuditRecord record(Instant ts, String decisionId, RefusalAudit.Tally tally) {
        return AuditRecord.http2Refused(ts, decisionId, tally.manySubjects() ? null : agent,
                connection ? AuditRecord.HTTP2_CONNECTION : AuditRecord.HTTP2_STREAM, reason(tally), tally.count(),
                tally.first(), tally.last());
    }

    private String reason(RefusalAudit.Tally tally) {
        StringBuilder b = new StringBuilder(connection
                ? "HTTP/2 connection ended with GOAWAY " + error + ": "
                : "HTTP/2 stream reset with " + error + " before a request existed: malformed ").append(rule);
        if (tally.manySubjects()) {
            b.append("; agents: many (over ").append(RefusalAudit.MAX_KEYS).append(" distinct at a time)");
        }
        if (detail != null && !detail.isEmpty()) {
            b.append("; ").append(detail.length() > MAX_DETAIL_CHARS
                    ? detail.substring(0, MAX_DETAIL_CHARS) + "..." : detail);
            if (tally.variantsDiffer()) {
                b.append(" (the first of them; details vary)");
            }
        }
        return b.toString();
    }
}
