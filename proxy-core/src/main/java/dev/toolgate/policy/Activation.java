package dev.toolgate.policy;

import dev.cel.runtime.CelVariableResolver;
import dev.toolgate.identity.SpiffeId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The CEL variables of one call, built from its {@link CallFacts} on first use and kept for the other conditions
 * of the same decision. One per decision; not thread-safe.
 */
final class Activation implements CelVariableResolver {
    /** Headers a condition never sees: credentials and the task token. */
    private static final Set<String> HIDDEN_HEADERS =
            Set.of("authorization", "proxy-authorization", "cookie", "toolgate-task");

    final CallFacts facts;
    private Map<String, Object> request;
    private Map<String, Object> mcp;
    private Map<String, Object> grpc;
    private Map<String, Object> task;
    private Map<String, Object> agent;

    Activation(CallFacts facts) {
        this.facts = facts;
    }

    @Override
    public Optional<Object> find(String name) {
        return Optional.ofNullable(switch (name) {
            case "request" -> request != null ? request : (request = request());
            case "mcp" -> mcp != null ? mcp : (mcp = mcp());
            case "grpc" -> grpc != null ? grpc : (grpc = grpc());
            case "task" -> task != null ? task : (task = task());
            case "agent" -> agent != null ? agent : (agent = agent());
            case "now" -> facts.now();
            default -> null;
        });
    }

    /** Every variable, built now (for a trace of what conditions saw). */
    Map<String, Object> all() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        for (String name : List.of("agent", "task", "request", "mcp", "grpc", "now")) {
            m.put(name, find(name).orElse(null));
        }
        return m;
    }

    private Map<String, Object> request() {
        Map<String, Object> m = new HashMap<>(8);
        put(m, "method", facts.method());
        put(m, "path", facts.path());
        put(m, "host", facts.host());
        Map<String, String> headers = facts.headers();
        Map<String, String> visible = new HashMap<>();
        if (headers != null) {
            headers.forEach((k, v) -> {
                if (k != null && v != null && !HIDDEN_HEADERS.contains(k)) {
                    visible.put(k, v);
                }
            });
        }
        m.put("headers", visible);
        return m;
    }

    private Map<String, Object> mcp() {
        Map<String, Object> m = new HashMap<>(8);
        if (facts.mcpMethod() == null) {
            return m;
        }
        put(m, "method", facts.mcpMethod());
        put(m, "tool", facts.mcpTool());
        put(m, "uri", facts.mcpUri());
        Object args = facts.mcpArguments();
        // Always there on an MCP call (empty when the call has none), so has(mcp.arguments.x) can be asked.
        m.put("arguments", args == null ? Map.of() : CelValues.of(args));
        return m;
    }

    private Map<String, Object> grpc() {
        Map<String, Object> m = new HashMap<>(4);
        put(m, "service", facts.grpcService());
        put(m, "method", facts.grpcMethod());
        return m;
    }

    private Map<String, Object> task() {
        Map<String, Object> m = new HashMap<>(8);
        put(m, "id", facts.taskId());
        put(m, "purpose", facts.taskPurpose());
        Set<String> labels = facts.taskLabels();
        m.put("labels", labels == null ? List.of() : new ArrayList<>(labels));
        m.put("calls", facts.taskCalls());
        return m;
    }

    private Map<String, Object> agent() {
        SpiffeId id = facts.agent();
        return Map.of("id", id.uri(), "trust_domain", id.trustDomain(), "path", id.path(), "proof",
                facts.agentProof());
    }

    private static void put(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value);
        }
    }
}
