package dev.toolgate.deploy;

import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The "upstream" host of EgressLockNetnsTest, started in its own network namespace, on all addresses (IPv4 and
 * IPv6). Each argument is a port: {@code 8080} an HTTP server answering {@code upstream saw <peer address> on 8080}
 * so the test sees where a call came from; {@code udp:53} a datagram echo answering
 * {@code upstream saw <peer address>:<peer port> on udp 53}; {@code reset:8081} a minimal HTTP server that resets
 * (TCP RST) a request for {@code /reset} and answers any other like the HTTP one. Prints {@code ready} once listening;
 * runs until killed.
 */
public final class UpstreamServer {
    private UpstreamServer() {}

    public static void main(String[] args) throws Exception {
        for (String arg : args) {
            if (arg.startsWith("udp:")) {
                udpEcho(Integer.parseInt(arg.substring(4)));
            } else if (arg.startsWith("reset:")) {
                resetting(Integer.parseInt(arg.substring(6)));
            } else {
                http(arg);
            }
        }
        System.out.println("ready");
        System.out.flush();
    }

    private static void http(String port) throws IOException {
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

    private static void udpEcho(int port) throws IOException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress("::", port));
        daemon("udp-" + port, () -> {
            byte[] buf = new byte[1500];
            while (true) {
                DatagramPacket in = new DatagramPacket(buf, buf.length);
                socket.receive(in);
                byte[] answer = ("upstream saw " + in.getAddress().getHostAddress() + ":" + in.getPort() + " on udp "
                        + port + "\n").getBytes(StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(answer, answer.length, in.getSocketAddress()));
            }
        });
    }

    private static void resetting(int port) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress("::", port));
        daemon("reset-" + port, () -> {
            while (true) {
                try (Socket s = server.accept()) {
                    String line = new BufferedReader(new InputStreamReader(s.getInputStream(),
                            StandardCharsets.US_ASCII)).readLine();
                    if (line != null && line.contains(" /reset ")) {
                        s.setSoLinger(true, 0); // close() now sends RST
                        continue;
                    }
                    byte[] body = ("upstream saw " + s.getInetAddress().getHostAddress() + " on " + port + "\n")
                            .getBytes(StandardCharsets.UTF_8);
                    s.getOutputStream().write(("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: "
                            + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().write(body);
                } catch (IOException e) {
                    // that connection only
                }
            }
        });
    }

    private interface Loop {
        void run() throws IOException;
    }

    private static void daemon(String name, Loop loop) {
        Thread t = new Thread(() -> {
            try {
                loop.run();
            } catch (IOException e) {
                e.printStackTrace();
            }
        }, name);
        t.setDaemon(false);
        t.start();
    }
}
