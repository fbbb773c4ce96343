package dev.toolgate.policy;

import dev.toolgate.common.Protocol;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.identity.SpiffeId;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Routes, calls and documents the policy tests share. */
final class Fixtures {
    static final SpiffeId RESEARCHER = SpiffeId.parse("spiffe://acme.dev/agents/research/r1");
    static final SpiffeId STRANGER = SpiffeId.parse("spiffe://acme.dev/agents/sales/s1");
    static final Instant NOW = Instant.parse("2026-11-28T12:00:00Z");

    static final List<RouteConfig> ROUTES = List.of(
            route("github-mcp", "/mcp/github", null, Protocol.MCP, "source-code", "external"),
            route("weather", "/api/weather", null, Protocol.HTTP, "external"),
            route("crm", "/api/crm", null, Protocol.HTTP, "pii"),
            route("inventory-grpc", null, "demo.Tools", Protocol.GRPC));

    private Fixtures() {}

    static RouteConfig route(String name, String prefix, String grpc, Protocol protocol, String... labels) {
        return new RouteConfig(name, prefix, grpc, protocol, new UpstreamConfig(URI.create("http://127.0.0.1:1"),
                null, null), List.of(labels), null);
    }

    /** A call; {@code with*} give variants. */
    record Facts(SpiffeId agent, String route, Set<String> routeLabels, String operation, String method, String path,
                 Map<String, String> headers, String mcpMethod, String mcpTool, Object mcpArguments,
                 String grpcService, String grpcMethod, Set<String> taskLabels, long taskCalls, String taskPurpose)
            implements CallFacts {
        @Override
        public String taskId() {
            return "t-1";
        }

        @Override
        public Instant now() {
            return NOW;
        }

        Facts withAgent(SpiffeId id) {
            return new Facts(id, route, routeLabels, operation, method, path, headers, mcpMethod, mcpTool,
                    mcpArguments, grpcService, grpcMethod, taskLabels, taskCalls, taskPurpose);
        }

        Facts withHistory(String... labels) {
            return new Facts(agent, route, routeLabels, operation, method, path, headers, mcpMethod, mcpTool,
                    mcpArguments, grpcService, grpcMethod, Set.of(labels), taskCalls, taskPurpose);
        }

        Facts withPurpose(String purpose) {
            return new Facts(agent, route, routeLabels, operation, method, path, headers, mcpMethod, mcpTool,
                    mcpArguments, grpcService, grpcMethod, taskLabels, taskCalls, purpose);
        }

        Facts withHeaders(Map<String, String> h) {
            return new Facts(agent, route, routeLabels, operation, method, path, h, mcpMethod, mcpTool,
                    mcpArguments, grpcService, grpcMethod, taskLabels, taskCalls, taskPurpose);
        }
    }

    /** {@code tools/call} of {@code tool} on github-mcp with {@code args}. */
    static Facts toolCall(String tool, Object args) {
        return new Facts(RESEARCHER, "github-mcp", Set.of("source-code", "external"), "mcp:tools/call:" + tool,
                "POST", "/", Map.of("content-type", "application/json"), "tools/call", tool, args, null, null,
                Set.of(), 0, "triage issues");
    }

    static Facts mcpMethod(String method) {
        return new Facts(RESEARCHER, "github-mcp", Set.of("source-code", "external"), "mcp:" + method, "POST", "/",
                Map.of(), method, null, null, null, null, Set.of(), 0, "triage issues");
    }

    static Facts http(String route, Set<String> labels, String method, String path) {
        return new Facts(RESEARCHER, route, labels, method + " " + path, method, path, Map.of(), null, null, null,
                null, null, Set.of(), 0, "triage issues");
    }

    static Facts grpc(String service, String method) {
        return new Facts(RESEARCHER, "inventory-grpc", Set.of(), "grpc:" + service + "/" + method, "POST",
                "/" + service + "/" + method, Map.of("content-type", "application/grpc"), null, null, null, service,
                method, Set.of(), 0, "stock check");
    }

    static Path write(Path dir, String name, String yaml) throws Exception {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, yaml);
        return p;
    }

    /** The policy the tests mostly use: the brief's example plus a gRPC and a CRM rule. */
    static final String RESEARCH = """
            kind: Policy
            name: research-agents
            subjects: ["spiffe://acme.dev/agents/research/*"]
            allow:
              - name: discovery
                route: github-mcp
                operations: ["mcp:tools/list", "mcp:initialize"]
              - route: github-mcp
                operations: ["mcp:tools/call:search_issues", "mcp:tools/call:delete_repo"]
                maxTtl: 30m
                when: 'mcp.arguments.repo.startsWith("acme/")'
                budget: 100
                rate: {perSecond: 5, burst: 10}
              - name: weather
                route: weather
                operations: ["GET /forecast/**"]
                maxTtl: 1h
              - name: crm
                route: crm
                operations: ["GET /customers/*"]
                approval: required
              - name: search
                route: inventory-grpc
                operations: ["grpc:demo.Tools/Search"]
            deny:
              - name: no-delete
                route: github-mcp
                operations: ["mcp:tools/call:delete_repo"]
                reason: "never delete repositories"
            flows:
              - name: no-exfiltration
                after: [pii]
                deny: [external]
                reason: "no PII to external tools"
            """;
}
