package dev.toolgate.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.rpc.Code;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import java.util.List;

/**
 * The CheckResponses of the ext_authz check: OK with the headers Envoy must strip and the decision id, or a denial
 * carrying the very JSON body the data plane answers. Stateless.
 */
final class ExtAuthzAnswers {
    static final String DECISION_ID_HEADER = "x-toolgate-decision-id";
    /**
     * The data plane's other sidecar-set headers (set there only on a route with {@code identityHeaders: true}):
     * Envoy forwards no agent's copy of them, so an upstream that reads them reads only what a sidecar vouched for.
     */
    static final String[] SIDECAR_HEADERS = {"x-toolgate-spiffe-id", "x-toolgate-task-id"};
    /** ASCII only, like the data plane's answers: a reason quoting what the client sent stays readable anywhere. */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

    private ExtAuthzAnswers() {}

    /**
     * Allowed: Envoy forwards the request without the task token (a bearer secret of the agent's task), without
     * the headers that assert who calls or from where ({@code identityHeaders}: {@code IdentityHeaders.toRemove},
     * the list the data plane drops by), without an agent's copy of the sidecar's own identity headers
     * ({@link #SIDECAR_HEADERS}; the decision id is overwritten) and, when the route has an upstream credential
     * configured, without the agent's own {@code authorization} (the upstream trusts only the credential the sidecar
     * holds, never one an agent brought).
     */
    static CheckResponse ok(String decisionId, boolean routeHasCredential, List<String> identityHeaders) {
        OkHttpResponse.Builder ok = OkHttpResponse.newBuilder()
                .addHeadersToRemove("toolgate-task")
                .addAllHeadersToRemove(identityHeaders)
                .addAllHeadersToRemove(List.of(SIDECAR_HEADERS))
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
        ObjectNode json = JSON.createObjectNode().put("error", error).put("code", code).put("reason", reason);
        if (route != null) {
            json.put("route", route);
        }
        json.put("decision_id", decisionId);
        if (approvalId != null) {
            json.put("approval_id", approvalId);
        }
        if (retryAfterSeconds > 0) {
            json.put("retry_after", retryAfterSeconds);
        }
        DeniedHttpResponse.Builder denied = DeniedHttpResponse.newBuilder()
                .setStatus(HttpStatus.newBuilder().setCode(StatusCode.forNumber(httpStatus)))
                .addHeaders(header("content-type", "application/json"))
                .addHeaders(header("cache-control", "no-store"))
                .addHeaders(header(DECISION_ID_HEADER, decisionId))
                .setBody(body(json));
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

    /** One line of JSON, ASCII only, as the data plane writes its answers. */
    private static String body(ObjectNode json) {
        try {
            return JSON.writeValueAsString(json) + "\n";
        } catch (JsonProcessingException e) {
            // An ObjectNode of strings and numbers always serializes; failing here is a bug, never a client's doing.
            throw new IllegalStateException("cannot write a denial body", e);
        }
    }
}
