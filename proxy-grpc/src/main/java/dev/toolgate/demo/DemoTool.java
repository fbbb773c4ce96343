package dev.toolgate.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The demo's tools on 127.0.0.1 (one JDK HTTP server): a weather API (every GET a small JSON forecast), a CRM at
 * {@code /crm/} (personal data) and a minimal MCP server at {@code /mcp} (JSON-RPC: initialize, tools/list of
 * three tools, tools/call search_issues). Keeps the list of requests it actually received, so the demo can show what got past
 * the sidecar.
 */
final class DemoTool implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpServer server;
    final List<String> received = new CopyOnWriteArrayList<>();

    DemoTool() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            try (exchange) {
                String target = exchange.getRequestURI().getRawPath()
                        + (exchange.getRequestURI().getRawQuery() == null ? "" : "?" + exchange.getRequestURI().getRawQuery());
                String auth = exchange.getRequestHeaders().getFirst("Authorization");
                String key = exchange.getRequestHeaders().getFirst("x-api-key");
                String task = exchange.getRequestHeaders().getFirst("toolgate-task");
                received.add(exchange.getRequestMethod() + " " + target
                        + (key == null ? "" : "  x-api-key: " + key)
                        + (auth == null ? "" : "  Authorization: " + auth)
                        + (task == null ? "" : "  toolgate-task: " + task));
                byte[] body = ("{\"forecast\":\"sunny\",\"high_c\":21,\"path\":\"" + target.replace("\"", "") + "\"}\n")
                        .getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        });
        server.createContext("/crm/", exchange -> {
            try (exchange) {
                received.add(exchange.getRequestMethod() + " /crm" + exchange.getRequestURI().getRawPath()
                        .substring(4) + "  (CRM)");
                respond(exchange, "{\"customer\":42,\"name\":\"Kari Nordmann\",\"email\":\"kari@example.com\"}\n");
            }
        });
        server.createContext("/mcp", exchange -> {
            try (exchange) {
                byte[] body = exchange.getRequestBody().readAllBytes();
                JsonNode req = JSON.readTree(body);
                String method = req.path("method").asText();
                String tool = req.at("/params/name").asText("");
                received.add("POST /mcp  (MCP " + method + (tool.isEmpty() ? "" : " " + tool + " "
                        + req.at("/params/arguments")) + ")");
                if (!req.has("id")) {
                    exchange.sendResponseHeaders(202, -1);
                    return;
                }
                String result = switch (method) {
                    case "initialize" -> "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},"
                            + "\"serverInfo\":{\"name\":\"demo-github\",\"version\":\"1\"}}";
                    case "tools/list" -> "{\"tools\":[" + tool("search_issues", "Search the issues of a repository")
                            + "," + tool("delete_repo", "Delete a repository") + ","
                            + tool("push_commit", "Push a commit to a branch") + "]}";
                    case "tools/call" -> "{\"content\":[{\"type\":\"text\",\"text\":\"3 open issues in "
                            + req.at("/params/arguments/repo").asText().replace("\"", "") + "\"}]}";
                    default -> "{}";
                };
                respond(exchange, "{\"jsonrpc\":\"2.0\",\"id\":" + req.get("id") + ",\"result\":" + result + "}\n");
            }
        });
        server.start();
    }

    private static void respond(com.sun.net.httpserver.HttpExchange exchange, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }

    private static String tool(String name, String description) {
        return "{\"name\":\"" + name + "\",\"description\":\"" + description
                + "\",\"inputSchema\":{\"type\":\"object\"}}";
    }
}
