package dev.toolgate.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * Sends raw bytes to the sidecar over mTLS (HTTP/1.1, no ALPN) and reads one response exactly as it comes back:
 * for hostile inputs that no well-behaved client library would send.
 */
public final class RawHttpClient implements AutoCloseable {

    /** One response as read off the wire. */
    public record Response(int status, Map<String, String> headers, String body) {}

    private final SSLSocket socket;
    private final InputStream in;

    public RawHttpClient(SSLContext ctx, int port) throws IOException {
        this(ctx, port, 0);
    }

    /** With a small {@code receiveBuffer} (set before connecting), a stalled reader stalls the sender soon. */
    public RawHttpClient(SSLContext ctx, int port, int receiveBuffer) throws IOException {
        socket = (SSLSocket) ctx.getSocketFactory().createSocket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(5000);
        socket.startHandshake();
        in = socket.getInputStream();
    }

    public RawHttpClient send(String raw) throws IOException {
        return send(raw.getBytes(StandardCharsets.ISO_8859_1));
    }

    public RawHttpClient send(byte[] raw) throws IOException {
        socket.getOutputStream().write(raw);
        socket.getOutputStream().flush();
        return this;
    }

    /** Reads one response (body framed by Content-Length, chunked, or the close). */
    public Response read() throws IOException {
        String statusLine = line();
        if (statusLine == null) {
            throw new IOException("connection closed before a response");
        }
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String l = line(); l != null && !l.isEmpty(); l = line()) {
            int colon = l.indexOf(':');
            headers.merge(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim(),
                    (a, b) -> a + "," + b);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (headers.containsKey("content-length")) {
            long n = Long.parseLong(headers.get("content-length"));
            for (long i = 0; i < n; i++) {
                int b = in.read();
                if (b < 0) {
                    break;
                }
                body.write(b);
            }
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            for (int size = Integer.parseInt(line().trim(), 16); size > 0; size = Integer.parseInt(line().trim(), 16)) {
                body.write(in.readNBytes(size));
                line();
            }
            line();
        } else if (status >= 200 && status != 204 && status != 304) {
            body.write(in.readAllBytes());
        }
        return new Response(status, headers, body.toString(StandardCharsets.UTF_8));
    }

    /** Sends {@code raw} and reads the response. */
    public Response exchange(String raw) throws IOException {
        return send(raw).read();
    }

    /** True if the server has closed the connection (checked with a short read; consumes a byte if not). */
    public boolean serverClosed() throws IOException {
        int old = socket.getSoTimeout();
        socket.setSoTimeout(300);
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        } finally {
            if (!socket.isClosed()) {
                socket.setSoTimeout(old);
            }
        }
    }

    /** The TLS session (the sidecar's certificate, the negotiated protocol). */
    public javax.net.ssl.SSLSession session() {
        return socket.getSession();
    }

    public InputStream input() {
        return in;
    }

    private String line() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '\n') {
                String s = buf.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            buf.write(b);
        }
        return buf.size() == 0 ? null : buf.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
