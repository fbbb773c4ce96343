package dev.toolgate.admission;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toolgate.authz.Decision;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.call.RequestTarget;
import dev.toolgate.call.RouteMatch;
import dev.toolgate.mcp.McpRequest;
import dev.toolgate.mcp.ToolsList;
import java.util.List;

/**
 * Where {@link Admission} left a request: admitted, refused, waiting for its body (an MCP POST is judged by its
 * JSON-RPC messages), or a request for the sidecar's own task endpoints. Front ends handle every kind. Immutable
 * values (the MCP request and tools-list watcher they carry belong to the one exchange that got them).
 */
public sealed interface Step {

    /** What is known of the call so far; its decision record is written from it. */
    Intent intent();

    /**
     * The call may be forwarded.
     *
     * @param allow     the decision (of the first message, for a JSON-RPC batch)
     * @param allows    every allow of the request (one per message of a batch), given back together
     * @param match     the route and the path to forward
     * @param target    the normalized target (what is forwarded: the same path that was judged)
     * @param sessionId the {@code Mcp-Session-Id} the request presented, or null
     * @param mcp       the JSON-RPC messages of an MCP POST, or null
     * @param toolsList on an MCP POST that asks {@code tools/list}: what watches (and on a filtering route,
     *                  filters) its answer; else null
     */
    record Admitted(Intent intent, Decision.Allow allow, List<Decision.Allow> allows, RouteMatch match,
                    RequestTarget target, String sessionId, McpRequest mcp, ToolsList toolsList) implements Step {
        public Admitted {
            requireNonNull(intent, "intent");
            requireNonNull(allow, "allow");
            allows = List.copyOf(allows);
            requireNonNull(match, "match");
            requireNonNull(target, "target");
        }

        /** The matched route's name. */
        public String route() {
            return match.route().name();
        }
    }

    /**
     * The call is refused.
     *
     * @param code       the decision code
     * @param reason     why, in words the agent can act on
     * @param answer     which protocol-native answer the refusal gets
     * @param jsonRpc    for a refused MCP POST: how to answer each JSON-RPC message; else null
     */
    record Refused(Intent intent, DecisionCode code, String reason, Answer answer, JsonRpc jsonRpc)
            implements Step {
        public Refused {
            requireNonNull(intent, "intent");
            requireNonNull(code, "code");
            requireNonNull(reason, "reason");
            requireNonNull(answer, "answer");
            if (code == DecisionCode.ALLOW) {
                throw new IllegalArgumentException("a refusal cannot carry ALLOW");
            }
        }

        /** The HTTP status: the answer's own, else the code's. */
        public int status() {
            return answer.status != 0 ? answer.status : code.httpStatus();
        }

        /** The JSON {@code error} field: the answer's own, else the code's. */
        public String error() {
            return answer.error != null ? answer.error : code.error();
        }

        /** The approval the call waits for or was refused by, or null. */
        public String approvalId() {
            return intent.decision() == null ? null : intent.decision().approvalId();
        }

        /** Seconds until the same call passes again (a rate limit), else 0. */
        public long retryAfterSeconds() {
            return intent.decision() instanceof Decision.Deny d ? d.retryAfterSeconds() : 0;
        }
    }

    /**
     * An MCP POST whose route and head passed: it is judged once its body is in ({@link Admission#body}). The body
     * may be at most {@code maxBytes}; a front end that reads it refuses more with {@link #tooLarge()}.
     */
    record NeedsBody(Intent intent, AdmissionRequest request, RouteMatch match, RequestTarget target, String token,
                     String sessionId, int maxBytes) implements Step {
        /** The body is larger than {@link #maxBytes}: refused 413, the connection is not reused. */
        public Refused tooLarge() {
            return new Refused(intent, DecisionCode.DENY_MALFORMED, "MCP body larger than " + maxBytes + " bytes",
                    Answer.BODY_TOO_LARGE, null);
        }

        /** The front end could not hand over the body as sent (e.g. Envoy cut it): refused, {@code DENY_MALFORMED}. */
        public Refused malformed(String reason) {
            return new Refused(intent, DecisionCode.DENY_MALFORMED, reason, Answer.DECIDED, null);
        }
    }

    /** A request for the sidecar's own task endpoints ({@code /_toolgate/...}), served by the front end. */
    record Local(Intent intent, RequestTarget target, String token) implements Step {}

    /**
     * The protocol-native answer a refusal gets where it is more precise than its code's: an unknown route (404),
     * a rate limit (429 with {@code Retry-After}), a body too large (413, connection closed), an MCP body that is
     * not JSON (415). {@link #DECIDED}: the code's own answer ({@link DecisionCode#httpStatus()}).
     */
    enum Answer {
        DECIDED(0, null),
        NO_ROUTE(404, "no_route"),
        RATE_LIMITED(429, null),
        BODY_TOO_LARGE(413, "body_too_large"),
        UNSUPPORTED_MEDIA_TYPE(415, null);

        final int status;
        final String error;

        Answer(int status, String error) {
            this.status = status;
            this.error = error;
        }
    }

    /**
     * How a refused MCP POST is answered in JSON-RPC: each request message gets an error with its own id (every
     * message of a batch is refused when one is denied); a body the sidecar could not read gets one error with
     * {@code rpcCode} and the id it could read ({@code parsed} null).
     *
     * @param parsed    the messages, or null when the body could not be read
     * @param decisions one decision per message of {@code parsed}, or empty
     * @param rpcCode   the JSON-RPC error code of an unreadable body, else the denial's
     * @param id        the id of the unreadable request, or null
     */
    record JsonRpc(McpRequest parsed, List<Decision> decisions, int rpcCode, JsonNode id) {
        public JsonRpc {
            decisions = List.copyOf(decisions);
        }
    }
}
