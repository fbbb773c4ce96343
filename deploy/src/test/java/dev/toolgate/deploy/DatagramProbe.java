package dev.toolgate.deploy;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * One datagram from a chosen source port, for EgressLockNetnsTest (bash's {@code /dev/udp} cannot choose one):
 * {@code DatagramProbe LOCAL_PORT HOST PORT MESSAGE} binds {@code LOCAL_PORT} (address reuse on, as a process that
 * wants a port another one just used would), sends {@code MESSAGE} to {@code HOST:PORT} and prints the answer.
 * Exit 0 with the answer on stdout; 1 with the error on stderr when sending fails or no answer comes within 2 s.
 */
public final class DatagramProbe {
    private DatagramProbe() {}

    public static void main(String[] args) {
        InetAddress host;
        try (DatagramSocket socket = new DatagramSocket(null)) {
            host = InetAddress.getByName(args[1]);
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(Integer.parseInt(args[0])));
            socket.setSoTimeout(2000);
            byte[] out = args[3].getBytes(StandardCharsets.UTF_8);
            socket.send(new DatagramPacket(out, out.length, host, Integer.parseInt(args[2])));
            byte[] buf = new byte[1500];
            DatagramPacket in = new DatagramPacket(buf, buf.length);
            socket.receive(in);
            System.out.print(new String(buf, 0, in.getLength(), StandardCharsets.UTF_8));
            System.exit(0);
        } catch (IOException e) {
            System.err.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
