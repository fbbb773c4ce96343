package dev.toolgate.testing;

import dev.toolgate.common.Protocol;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import java.net.URI;
import java.util.List;

/**
 * The routes and policy the decision-code tables run on (the data plane's {@code DecisionCodesAuditTest} and
 * {@code OneAdmissionPathTest} through both front ends): one policy in which every decision code has a call that
 * produces it. {@code weather} (plain; {@code DELETE} needs approval; {@code /admin} denied), {@code crm} (labelled
 * {@code pii}), {@code mail} (labelled {@code external}, closed by the flow rule after {@code pii}; its
 * {@code GET /status} rule has a condition that cannot be evaluated on an HTTP call: fail closed) and
 * {@code tools-mcp}.
 */
public final class DecisionTable {
    /** The policy document (YAML). */
    public static final String POLICY = """
            kind: Policy
            name: agents
            mode: enforce
            subjects: ["spiffe://toolgate.test/agents/*"]
            allow:
              - name: weather-read
                route: weather
                operations: ["GET /**"]
              - name: weather-delete
                route: weather
                operations: ["DELETE /**"]
                approval: required
              - name: crm-read
                route: crm
                operations: ["GET /**"]
              - name: mail-send
                route: mail
                operations: ["POST /**"]
              - name: broken-condition
                route: mail
                operations: ["GET /status"]
                when: 'mcp.arguments.repo == "x"'
              - name: tools
                route: tools-mcp
                operations: ["mcp:tools/call:*"]
            deny:
              - name: no-admin
                route: weather
                operations: ["GET /admin/**"]
                reason: "no admin pages"
            flows:
              - name: no-pii-out
                after: [pii]
                deny: [external]
                reason: "no PII to external tools"
            """;

    private DecisionTable() {}

    /** The four routes, all to {@code upstream} (the MCP route to its {@code /mcp}). */
    public static List<RouteConfig> routes(String upstream) {
        UpstreamConfig up = new UpstreamConfig(URI.create(upstream), null, null);
        return List.of(
                new RouteConfig("weather", "/api/weather", null, Protocol.HTTP, up, null, null),
                new RouteConfig("crm", "/api/crm", null, Protocol.HTTP, up, List.of("pii"), null),
                new RouteConfig("mail", "/api/mail", null, Protocol.HTTP, up, List.of("external"), null),
                new RouteConfig("tools-mcp", "/mcp/tools", null, Protocol.MCP,
                        new UpstreamConfig(URI.create(upstream + "/mcp"), null, null), null, null));
    }
}
