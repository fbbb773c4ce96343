package dev.toolgate.admission;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toolgate.authz.Decision;
import dev.toolgate.mcp.JsonRpcAnswers;
import dev.toolgate.mcp.McpMessage;
import java.util.ArrayList;
import java.util.List;

/**
 * The JSON-RPC form of a refused MCP POST: each request message gets an error with its own id and the decision
 * code, reason and decision id in {@code error.data} (a batch is refused whole: messages that were allowed are
 * answered "not forwarded"); a body of notifications only gets one error (403); a body the sidecar could not read
 * gets one error with the parse error's code and the id it could read. Stateless.
 */
public final class JsonRpcDenial {
    private JsonRpcDenial() {}

    /** An answer body and the HTTP status it goes with. */
    public record Body(int status, byte[] json) {}

    /**
     * The answer to {@code refused} (which must carry {@link Step.Refused#jsonRpc()}), naming {@code decisionId}.
     *
     * @throws IllegalArgumentException if the refusal has no JSON-RPC form
     */
    public static Body of(Step.Refused refused, String decisionId) {
        Step.JsonRpc rpc = refused.jsonRpc();
        if (rpc == null) {
            throw new IllegalArgumentException("refusal without a JSON-RPC form: " + refused.code());
        }
        String code = refused.code().name();
        if (rpc.parsed() == null) {
            return new Body(refused.status(), JsonRpcAnswers.bytes(JsonRpcAnswers.error(rpc.id(), rpc.rpcCode(),
                    "bad_request", code, refused.reason(), decisionId)));
        }
        List<ObjectNode> answers = new ArrayList<>();
        List<McpMessage> messages = rpc.parsed().messages();
        for (int i = 0; i < messages.size(); i++) {
            McpMessage m = messages.get(i);
            if (m.notification() || m.response()) {
                continue;
            }
            Decision d = rpc.decisions().get(i);
            answers.add(d instanceof Decision.Deny deny
                    ? JsonRpcAnswers.retryAfter(JsonRpcAnswers.error(m.id(), deny.code().jsonRpcCode(),
                            "toolgate_denied", deny.code().name(), deny.reason(), decisionId, deny.approvalId()),
                            deny.retryAfterSeconds())
                    : JsonRpcAnswers.error(m.id(), refused.code().jsonRpcCode(), "toolgate_denied", code,
                            "not forwarded: another request of the batch was denied", decisionId));
        }
        if (answers.isEmpty()) {
            return new Body(403, JsonRpcAnswers.bytes(JsonRpcAnswers.retryAfter(JsonRpcAnswers.error(null,
                    refused.code().jsonRpcCode(), "toolgate_denied", code, refused.reason(), decisionId,
                    refused.approvalId()), refused.retryAfterSeconds())));
        }
        return new Body(200, rpc.parsed().batch() ? JsonRpcAnswers.batch(answers)
                : JsonRpcAnswers.bytes(answers.get(0)));
    }
}
