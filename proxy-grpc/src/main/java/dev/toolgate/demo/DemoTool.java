package dev.toolgate.demo;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The demo's weather API on 127.0.0.1 (JDK HTTP server): answers every GET with a small JSON forecast and keeps
 * the list of requests it actually received, so the demo can show what got past the sidecar.
 */
final class DemoTool implements AutoCloseable {
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
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
