package dev.toolgate.mcp;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * {@code server.mjs}: an MCP server made with the official TypeScript SDK, on 127.0.0.1 and a free
 * port, serving streamable HTTP at {@code /mcp}. Tools {@code search_issues {repo, query}},
 * {@code delete_repo {repo}}, {@code echo {text}}; resource {@code docs://toolgate/readme}; prompt
 * {@code triage {repo}}.
 *
 * <p>Everything that reaches it is recorded as {@linkplain #events() events} (JSON, as printed by
 * the server): {@code http} (method, url, headers, body as received, peer certificate SANs),
 * {@code tool} (tool, arguments, sessionId) and {@code session} (state open/closed, sessionId), so
 * a test can assert what an upstream really got: which calls, which headers, which bytes.
 *
 * <p>Thread-safe. Close it; the process also exits by itself when the JVM that started it does.
 */
public final class McpSdkServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);

    private final Process process;
    private final boolean tls;
    private final CompletableFuture<Integer> listening = new CompletableFuture<>();
    private final List<JsonNode> events = new ArrayList<>(); // guarded by itself
    private final StringBuilder stderr = new StringBuilder(); // guarded by itself

    private McpSdkServer(Process process, boolean tls) {
        this.process = process;
        this.tls = tls;
    }

    /**
     * Starts a plain-HTTP server.
     *
     * @param options {@code --stateless} (no sessions), {@code --json-response} (JSON answers, not SSE)
     * @throws IllegalStateException if Node.js or the harness is missing, or the server does not start
     */
    public static McpSdkServer start(String... options) {
        return launch(false, List.of(options));
    }

    /**
     * Starts an HTTPS server that requires a client certificate signed by {@code clientCa}, as an
     * upstream that wants the sidecar's mTLS would.
     *
     * @param cert     the server's certificate chain (PEM)
     * @param key      its private key (PEM)
     * @param clientCa CA certificates a client certificate must chain to (PEM)
     * @param options  as {@link #start(String...)}
     * @throws IllegalStateException as {@link #start(String...)}
     */
    public static McpSdkServer startTls(Path cert, Path key, Path clientCa, String... options) {
        List<String> args = new ArrayList<>(List.of(options));
        args.addAll(List.of("--tls-cert", requireNonNull(cert, "cert").toString(),
                "--tls-key", requireNonNull(key, "key").toString(),
                "--client-ca", requireNonNull(clientCa, "clientCa").toString()));
        return launch(true, args);
    }

    private static McpSdkServer launch(boolean tls, List<String> options) {
        Path dir = McpSdk.ensureInstalled();
        List<String> command = new ArrayList<>(List.of("node", "server.mjs", "0"));
        command.addAll(options);
        Process process;
        try {
            // stdin stays an open pipe: server.mjs exits when it closes, so it never outlives this JVM.
            process = new ProcessBuilder(command).directory(dir.toFile()).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + command + ": " + e, e);
        }
        McpSdkServer server = new McpSdkServer(process, tls);
        daemon("mcp-sdk-server-stdout", server::readStdout).start();
        daemon("mcp-sdk-server-stderr", server::readStderr).start();
        try {
            server.listening.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            server.close();
            throw new IllegalStateException("server.mjs did not start: "
                    + (e instanceof ExecutionException ? e.getCause().getMessage() : "no port printed within " + START_TIMEOUT)
                    + "; stderr:\n" + server.stderr());
        } catch (InterruptedException e) {
            server.close();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting server.mjs", e);
        }
        return server;
    }

    private void readStdout() {
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String first = out.readLine();
            if (first == null || !first.startsWith("listening ")) {
                listening.completeExceptionally(new IllegalStateException("first line: " + first));
                return;
            }
            listening.complete(Integer.parseInt(first.substring("listening ".length()).strip()));
            for (String line; (line = out.readLine()) != null; ) {
                JsonNode event;
                try {
                    event = JSON.readTree(line);
                } catch (IOException e) {
                    event = JSON.createObjectNode().put("event", "unparsed").put("line", line);
                }
                synchronized (events) {
                    events.add(event);
                    events.notifyAll();
                }
            }
        } catch (IOException | RuntimeException e) {
            listening.completeExceptionally(e); // no effect once the port is known
        }
    }

    private void readStderr() {
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                synchronized (stderr) {
                    if (stderr.length() < 64 * 1024) {
                        stderr.append(line).append('\n');
                    }
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    private static Thread daemon(String name, Runnable task) {
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        return t;
    }

    /** The port it listens on (127.0.0.1). */
    public int port() {
        return listening.join();
    }

    /** {@code http://127.0.0.1:<port>/mcp}, or https when started with TLS. */
    public URI url() {
        return URI.create((tls ? "https" : "http") + "://127.0.0.1:" + port() + "/mcp");
    }

    /** Every event so far, in order. */
    public List<JsonNode> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    /** The events of one type ({@code http}, {@code tool}, {@code session}) so far, in order. */
    public List<JsonNode> events(String type) {
        return events().stream().filter(e -> type.equals(e.path("event").asText())).toList();
    }

    /** The tool calls the server executed so far: {@code {"event":"tool","tool":..,"arguments":..}}. */
    public List<JsonNode> toolCalls() {
        return events("tool");
    }

    /**
     * Waits for an event: the server prints it before it answers, but it may reach this JVM after
     * the client has its answer.
     *
     * @return the first event, in order, that matches
     * @throws AssertionError if none arrives within {@code timeout}
     */
    public JsonNode awaitEvent(Predicate<JsonNode> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (events) {
            while (true) {
                for (JsonNode e : events) {
                    if (match.test(e)) {
                        return e;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no matching event from server.mjs within " + timeout
                            + "; events: " + events + "\nstderr: " + stderr());
                }
                TimeUnit.NANOSECONDS.timedWait(events, left);
            }
        }
    }

    /** What the server wrote on stderr so far (at most 64 KiB). */
    public String stderr() {
        synchronized (stderr) {
            return stderr.toString();
        }
    }

    /** Stops the server: closes its stdin, then kills it if it is still running after 5 s. */
    @Override
    public void close() {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // already closed
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "McpSdkServer[" + url() + "]";
    }
}
