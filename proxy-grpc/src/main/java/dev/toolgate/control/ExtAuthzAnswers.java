package dev.toolgate.control;

import com.google.rpc.Code;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;

/**
 * The CheckResponses of the ext_authz check: OK with the headers Envoy must strip and the decision id, or a denial
 * carrying the very JSON body the data plane answers. Stateless.
 */
final class ExtAuthzAnswers {
    static final String DECISION_ID_HEADER = "x-toolgate-decision-id";

    private ExtAuthzAnswers() {}

    /**
     * Allowed: Envoy forwards the request without the task token (a bearer secret of the agent's task) and, when
     * the route has an upstream credential configured, without the agent's own {@code authorization} (the upstream
     * trusts only the credential the sidecar holds, never one an agent brought).
     */
    static CheckResponse ok(String decisionId, boolean routeHasCredential) {
        OkHttpResponse.Builder ok = OkHttpResponse.newBuilder()
                .addHeadersToRemove("toolgate-task")
                .addHeaders(header(DECISION_ID_HEADER, decisionId));
        if (routeHasCredential) {
            ok.addHeadersToRemove("authorization");
        }
        return CheckResponse.newBuilder()
                .setStatus(com.google.rpc.Status.newBuilder().setCode(Code.OK_VALUE))
                .setOkResponse(ok)
                .build();
    }

    /**
     * Denied: {@code status.code} PERMISSION_DENIED and the HTTP answer Envoy sends the agent, with the data
     * plane's JSON body {@code {"error":...,"code":...,"reason":...,"route":...,"decision_id":...}} (plus
     * {@code "approval_id"} when the call waits for, or was refused by, an approval).
     */
    static CheckResponse denied(int httpStatus, String error, String code, String reason, String route,
                                String decisionId) {
        return denied(httpStatus, error, code, reason, route, decisionId, null, 0);
    }

    /**
     * Denied, with {@code approval_id} when the call waits for (or was refused by) an approval, and
     * {@code Retry-After} / {@code retry_after} when {@code retryAfterSeconds} > 0 (a rate limit).
     */
    static CheckResponse denied(int httpStatus, String error, String code, String reason, String route,
                                String decisionId, String approvalId, long retryAfterSeconds) {
        StringBuilder json = new StringBuilder(128).append("{\"error\":");
        appendString(json, error);
        json.append(",\"code\":");
        appendString(json, code);
        json.append(",\"reason\":");
        appendString(json, reason);
        if (route != null) {
            json.append(",\"route\":");
            appendString(json, route);
        }
        json.append(",\"decision_id\":");
        appendString(json, decisionId);
        if (approvalId != null) {
            json.append(",\"approval_id\":");
            appendString(json, approvalId);
        }
        if (retryAfterSeconds > 0) {
            json.append(",\"retry_after\":").append(retryAfterSeconds);
        }
        json.append("}\n");
        DeniedHttpResponse.Builder denied = DeniedHttpResponse.newBuilder()
                .setStatus(HttpStatus.newBuilder().setCode(StatusCode.forNumber(httpStatus)))
                .addHeaders(header("content-type", "application/json"))
                .addHeaders(header("cache-control", "no-store"))
                .addHeaders(header(DECISION_ID_HEADER, decisionId))
                .setBody(json.toString());
        if (retryAfterSeconds > 0) {
            denied.addHeaders(header("retry-after", Long.toString(retryAfterSeconds)));
        }
        return CheckResponse.newBuilder()
                .setStatus(com.google.rpc.Status.newBuilder().setCode(Code.PERMISSION_DENIED_VALUE)
                        .setMessage(code + ": " + reason))
                .setDeniedResponse(denied)
                .build();
    }

    private static HeaderValueOption header(String name, String value) {
        return HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
                .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
                .build();
    }

    /** A JSON string: quotes, backslashes and control characters escaped. */
    private static void appendString(StringBuilder sb, String s) {
        if (s == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
