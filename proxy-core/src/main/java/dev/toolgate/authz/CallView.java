package dev.toolgate.authz;

import dev.toolgate.call.Call;
import dev.toolgate.common.Protocol;
import dev.toolgate.mcp.McpMessage;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.policy.CallFacts;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * One call as policy conditions see it: the {@link Call}, its route's labels, and what the task did before it.
 * Made once per decision; the MCP and gRPC fields are read from the call only when a condition asks.
 */
final class CallView implements CallFacts {
    private final Call call;
    private final String operation;
    private final Set<String> routeLabels;
    private final LiveTask task;
    private final long nowMillis;

    CallView(Call call, String operation, Set<String> routeLabels, LiveTask task, long nowMillis) {
        this.call = call;
        this.operation = operation;
        this.routeLabels = routeLabels;
        this.task = task;
        this.nowMillis = nowMillis;
    }

    @Override
    public SpiffeId agent() {
        return call.agent();
    }

    @Override
    public String agentProof() {
        return call.proof().json();
    }

    @Override
    public String route() {
        return call.route();
    }

    @Override
    public Set<String> routeLabels() {
        return routeLabels;
    }

    @Override
    public String operation() {
        return operation;
    }

    @Override
    public String method() {
        return call.method();
    }

    @Override
    public String path() {
        return call.path();
    }

    @Override
    public String host() {
        return call.headers().host();
    }

    @Override
    public Map<String, String> headers() {
        return call.headers().asMap();
    }

    @Override
    public String mcpMethod() {
        McpMessage m = call.mcp();
        return m == null ? null : m.method();
    }

    @Override
    public String mcpTool() {
        McpMessage m = call.mcp();
        return m == null ? null : m.tool();
    }

    @Override
    public String mcpUri() {
        McpMessage m = call.mcp();
        return m == null ? null : m.uri();
    }

    @Override
    public Object mcpArguments() {
        McpMessage m = call.mcp();
        return m == null ? null : m.arguments();
    }

    @Override
    public String grpcService() {
        if (call.protocol() != Protocol.GRPC) {
            return null;
        }
        int slash = call.path().indexOf('/', 1);
        return slash < 0 ? null : call.path().substring(1, slash);
    }

    @Override
    public String grpcMethod() {
        if (call.protocol() != Protocol.GRPC) {
            return null;
        }
        int slash = call.path().indexOf('/', 1);
        return slash < 0 ? null : call.path().substring(slash + 1);
    }

    @Override
    public String taskId() {
        return task.task().id();
    }

    @Override
    public String taskPurpose() {
        return task.task().purpose();
    }

    @Override
    public Set<String> taskLabels() {
        return task.labels();
    }

    @Override
    public long taskCalls() {
        return task.calls();
    }

    @Override
    public Instant now() {
        return Instant.ofEpochMilli(nowMillis);
    }
}
