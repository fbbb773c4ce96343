package dev.toolgate.mcp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The sidecar's answers on an MCP route, in JSON-RPC 2.0's own form so the agent's MCP client surfaces them as
 * errors of the calls it made: {@code {"jsonrpc":"2.0","id":...,"error":{"code":...,"message":"CODE: reason",
 * "data":{"error":"toolgate_denied","code":...,"reason":...,"decision_id":...}}}} (plus {@code approval_id} when
 * the call waits for, or was refused by, an approval). Stateless.
 */
public final class JsonRpcAnswers {
    /** JSON-RPC error code for a call the sidecar refused (the implementation-defined server-error range). */
    public static final int DENIED = -32001;
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonRpcAnswers() {}

    /** One answer element for the request {@code id} (null: a notification or an unreadable request). */
    public static ObjectNode error(JsonNode id, int rpcCode, String error, String code, String reason, String decisionId) {
        return error(id, rpcCode, error, code, reason, decisionId, null);
    }

    /** ... with {@code data.approval_id}: the approval the call waits for or was refused by (null: none). */
    public static ObjectNode error(JsonNode id, int rpcCode, String error, String code, String reason, String decisionId,
                            String approvalId) {
        ObjectNode res = JSON.createObjectNode();
        res.put("jsonrpc", "2.0");
        res.set("id", id == null ? NullNode.getInstance() : id);
        ObjectNode err = res.putObject("error");
        err.put("code", rpcCode);
        err.put("message", code + ": " + reason);
        ObjectNode data = err.putObject("data");
        data.put("error", error);
        data.put("code", code);
        data.put("reason", reason);
        if (decisionId != null) {
            data.put("decision_id", decisionId);
        }
        if (approvalId != null) {
            data.put("approval_id", approvalId);
        }
        return res;
    }

    /** Adds {@code retry_after} (seconds) to an error answer's data when a rate limit refused the request. */
    public static ObjectNode retryAfter(ObjectNode answer, long seconds) {
        if (seconds > 0) {
            ((ObjectNode) answer.get("error").get("data")).put("retry_after", seconds);
        }
        return answer;
    }

    /** A batch answer: one element per request that has an id (JSON-RPC answers no notification). */
    public static byte[] batch(List<ObjectNode> elements) {
        ArrayNode arr = JSON.createArrayNode();
        elements.forEach(arr::add);
        return bytes(arr);
    }

    public static byte[] bytes(JsonNode node) {
        try {
            return (JSON.writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree always serializes", e);
        }
    }
}
