package dev.toolgate.deploy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The "upstream" host of EgressLockNetnsTest, started in its own network namespace: an HTTP server on every
 * given port, on all addresses (IPv4 and IPv6), answering {@code upstream saw <peer address>} so the test sees
 * where a call came from. Prints {@code ready} once listening; runs until killed.
 */
public final class UpstreamServer {
    private UpstreamServer() {}

    public static void main(String[] args) throws Exception {
        for (String port : args) {
            HttpServer server = HttpServer.create(new InetSocketAddress("::", Integer.parseInt(port)), 16);
            server.createContext("/", exchange -> {
                byte[] body = ("upstream saw " + exchange.getRemoteAddress().getAddress().getHostAddress() + " on "
                        + port + "\n").getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            server.start();
        }
        System.out.println("ready");
        System.out.flush();
    }
}
