package dev.toolgate.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * The demo's agent: makes one call through the sidecar with a real HTTPS client and describes what came back.
 */
final class ScriptedAgent {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One call and what happened to it, as printed in the demo's table. */
    record Outcome(String call, String protocol, String status, String result) {}

    private final String base;

    ScriptedAgent(int sidecarPort) {
        this.base = "https://127.0.0.1:" + sidecarPort;
    }

    /** A GET through the sidecar. */
    Outcome call(SSLContext tls, HttpClient.Version version, String label, String path, String... headers) {
        return send(tls, version, "GET", label, path, null, headers).outcome();
    }

    /** An outcome and the body it came with (the demo reads the task token from a start's answer). */
    record Result(Outcome outcome, JsonNode body) {}

    Result send(SSLContext tls, HttpClient.Version version, String method, String label, String path, String body,
                String... headers) {
        HttpClient client = HttpClient.newBuilder().sslContext(tls).version(version)
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            req.header("content-type", "application/json");
        }
        if (headers.length > 0) {
            req.headers(headers);
        }
        try {
            HttpResponse<String> res = client.send(req.build(), HttpResponse.BodyHandlers.ofString());
            String proto = res.version() == HttpClient.Version.HTTP_2 ? "HTTP/2" : "HTTP/1.1";
            JsonNode json = json(res.body());
            return new Result(new Outcome(label, proto, Integer.toString(res.statusCode()), describe(res, json)),
                    json);
        } catch (IOException e) {
            return new Result(new Outcome(label, "-", "-", "refused at the TLS handshake (" + rootMessage(e) + ")"),
                    null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(new Outcome(label, "-", "-", "interrupted"), null);
        }
    }

    private static JsonNode json(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    private static String describe(HttpResponse<String> res, JsonNode body) {
        if (body != null && body.path("error").isObject() && body.path("jsonrpc").asText().equals("2.0")) {
            JsonNode data = body.at("/error/data");
            return "blocked: " + data.path("code").asText() + " (JSON-RPC error " + body.at("/error/code").asInt()
                    + ": " + data.path("reason").asText() + ")";
        }
        if (res.statusCode() < 300) {
            if (body != null && body.has("task_id")) {
                return "task " + body.path("task_id").asText() + " " + body.path("state").asText() + ", expires "
                        + body.path("expires_at").asText();
            }
            if (body != null && body.at("/result/tools").isArray()) {
                List<String> names = new ArrayList<>();
                body.at("/result/tools").forEach(t -> names.add(t.path("name").asText()));
                return "forwarded; the agent sees tools " + names + " (the server listed more)";
            }
            return "forwarded: " + res.body().trim();
        }
        if (body == null) {
            return "answered " + res.statusCode();
        }
        String kind = res.statusCode() >= 500 ? "failed" : "blocked";
        String code = body.has("code") ? body.path("code").asText() : body.path("error").asText();
        return kind + ": " + code + " (" + body.path("reason").asText() + ")";
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
