package dev.toolgate.mcp;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code client.mjs}: an MCP client made with the official TypeScript SDK. It connects over
 * streamable HTTP, runs {@code initialize}, {@code tools/list} and the given {@link Op}s, and
 * reports one JSON line per result.
 *
 * <p>Against the sidecar: {@code McpSdkClient.to(sidecarUrl).tls(agent/svid.pem, agent/svid.key,
 * agent/bundle.pem).header("toolgate-task", token).run(Op.tool("delete_repo", Map.of("repo", "x")))}.
 *
 * <p>A builder: not thread-safe; {@link #run} may be called more than once.
 */
public final class McpSdkClient {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final URI url;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private Path cert;
    private Path key;
    private Path ca;
    private String sessionId;
    private boolean list = true;

    private McpSdkClient(URI url) {
        this.url = url;
    }

    /** A client for the MCP endpoint at {@code url} ({@code http} or {@code https}). */
    public static McpSdkClient to(URI url) {
        return new McpSdkClient(requireNonNull(url, "url"));
    }

    /**
     * Adds a header to every request (e.g. {@code toolgate-task}).
     *
     * @throws IllegalStateException if the header was already set
     */
    public McpSdkClient header(String name, String value) {
        requireNonNull(name, "name");
        requireNonNull(value, "value");
        if (headers.putIfAbsent(name, value) != null) {
            throw new IllegalStateException("header " + name + " was already set");
        }
        return this;
    }

    /**
     * Presents a client certificate and trusts {@code ca} for the server's certificate.
     *
     * @param cert the certificate chain (PEM), or null for none
     * @param key  its private key (PEM), null exactly when {@code cert} is
     * @param ca   trusted CA certificates (PEM), or null for Node's default roots
     * @throws IllegalStateException if TLS was already set
     */
    public McpSdkClient tls(Path cert, Path key, Path ca) {
        if (this.cert != null || this.ca != null) {
            throw new IllegalStateException("tls was already set");
        }
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException("cert and key go together");
        }
        this.cert = cert;
        this.key = key;
        this.ca = ca;
        return this;
    }

    /**
     * Uses an existing session instead of initializing a new one (the SDK's reconnect path): how a
     * test presents another identity's session.
     *
     * @throws IllegalStateException if the session was already set
     */
    public McpSdkClient sessionId(String id) {
        if (sessionId != null) {
            throw new IllegalStateException("sessionId was already set");
        }
        this.sessionId = requireNonNull(id, "id");
        return this;
    }

    /** Skips {@code tools/list}. */
    public McpSdkClient noList() {
        list = false;
        return this;
    }

    /**
     * Runs the client to the end.
     *
     * @return what it printed
     * @throws IllegalStateException if Node.js or the harness is missing, the client exits with an
     *                               error, prints something that is not JSON, or takes over 30 s
     */
    public Result run(Op... ops) throws IOException, InterruptedException {
        Path dir = McpSdk.ensureInstalled();
        List<String> command = new ArrayList<>(List.of("node", "client.mjs", url.toString()));
        headers.forEach((n, v) -> command.addAll(List.of("--header", n + ": " + v)));
        if (cert != null) {
            command.addAll(List.of("--cert", cert.toString(), "--key", key.toString()));
        }
        if (ca != null) {
            command.addAll(List.of("--ca", ca.toString()));
        }
        if (sessionId != null) {
            command.addAll(List.of("--session-id", sessionId));
        }
        if (!list) {
            command.add("--no-list");
        }
        List<JsonNode> opsJson = new ArrayList<>();
        for (Op op : ops) {
            opsJson.add(op.json());
        }
        command.add(JSON.writeValueAsString(opsJson));

        Path out = Files.createTempFile("toolgate-mcp-client", ".out");
        Path err = Files.createTempFile("toolgate-mcp-client", ".err");
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException("client.mjs took longer than " + TIMEOUT + "; printed:\n"
                        + Files.readString(out) + "\nstderr:\n" + Files.readString(err));
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("client.mjs exited " + p.exitValue() + "; printed:\n" + stdout
                        + "\nstderr:\n" + stderr);
            }
            List<JsonNode> lines = new ArrayList<>();
            for (String line : stdout.split("\n")) {
                if (!line.isBlank()) {
                    try {
                        lines.add(JSON.readTree(line));
                    } catch (IOException e) {
                        throw new IllegalStateException("client.mjs printed a line that is not JSON: " + line
                                + "\nstderr:\n" + stderr, e);
                    }
                }
            }
            return new Result(lines, stderr);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** One operation for the client after initialize and tools/list. */
    public record Op(ObjectNode json) {
        public Op {
            requireNonNull(json, "json");
        }

        /** {@code tools/call} of {@code tool} with {@code arguments} (anything Jackson can write). */
        public static Op tool(String tool, Map<String, ?> arguments) {
            ObjectNode json = JSON.createObjectNode().put("op", "tools/call").put("tool", requireNonNull(tool, "tool"));
            json.set("arguments", JSON.valueToTree(requireNonNull(arguments, "arguments")));
            return new Op(json);
        }

        public static Op readResource(String uri) {
            return new Op(JSON.createObjectNode().put("op", "resources/read").put("uri", requireNonNull(uri, "uri")));
        }

        public static Op listResources() {
            return new Op(JSON.createObjectNode().put("op", "resources/list"));
        }

        public static Op getPrompt(String name, Map<String, String> arguments) {
            ObjectNode json = JSON.createObjectNode().put("op", "prompts/get").put("name", requireNonNull(name, "name"));
            json.set("arguments", JSON.valueToTree(requireNonNull(arguments, "arguments")));
            return new Op(json);
        }

        public static Op listPrompts() {
            return new Op(JSON.createObjectNode().put("op", "prompts/list"));
        }

        public static Op ping() {
            return new Op(JSON.createObjectNode().put("op", "ping"));
        }

        /** Ends the session with an HTTP DELETE. */
        public static Op terminate() {
            return new Op(JSON.createObjectNode().put("op", "terminate"));
        }
    }

    /**
     * What the client printed: one line per result, {@code {"op":..,"ok":true,"result":..}} or
     * {@code {"op":..,"ok":false,"error":{"kind":"jsonrpc"|"http"|"transport","code":..,"message":..,"data":..}}};
     * a {@code tools/call} line also has {@code tool}.
     */
    public record Result(List<JsonNode> lines, String stderr) {
        public Result {
            lines = List.copyOf(lines);
        }

        /** The first line of operation {@code op}. */
        public JsonNode line(String op) {
            return lines.stream().filter(l -> op.equals(l.path("op").asText())).findFirst()
                    .orElseThrow(() -> new AssertionError("no " + op + " line in " + lines + "\nstderr:\n" + stderr));
        }

        /** The {@code initialize} line (sessionId, protocolVersion, result.serverInfo). */
        public JsonNode initialize() {
            return line("initialize");
        }

        /** The names of the tools {@code tools/list} returned. */
        public List<String> toolNames() {
            JsonNode tools = line("tools/list").path("result").path("tools");
            List<String> names = new ArrayList<>();
            tools.forEach(t -> names.add(t.path("name").asText()));
            return names;
        }

        /** The {@code tools/call} lines, in order. */
        public List<JsonNode> toolCalls() {
            return lines.stream().filter(l -> "tools/call".equals(l.path("op").asText())).toList();
        }

        /** The first {@code tools/call} line for {@code tool}. */
        public JsonNode toolCall(String tool) {
            return toolCalls().stream().filter(l -> tool.equals(l.path("tool").asText())).findFirst()
                    .orElseThrow(() -> new AssertionError("no tools/call line for " + tool + " in " + lines));
        }

        /** The text of the first content item of a successful result line. */
        public static String text(JsonNode line) {
            return line.path("result").path("content").path(0).path("text").asText(null);
        }
    }

    @Override
    public String toString() {
        return "McpSdkClient[" + url + "]";
    }
}
