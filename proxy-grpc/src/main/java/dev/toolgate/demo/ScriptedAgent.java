package dev.toolgate.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
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

    Outcome call(SSLContext tls, HttpClient.Version version, String label, String path, String... headers) {
        HttpClient client = HttpClient.newBuilder().sslContext(tls).version(version)
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10));
        if (headers.length > 0) {
            req.headers(headers);
        }
        try {
            HttpResponse<String> res = client.send(req.build(), HttpResponse.BodyHandlers.ofString());
            String proto = res.version() == HttpClient.Version.HTTP_2 ? "HTTP/2" : "HTTP/1.1";
            return new Outcome(label, proto, Integer.toString(res.statusCode()), describe(res));
        } catch (IOException e) {
            return new Outcome(label, "-", "-", "refused at the TLS handshake (" + rootMessage(e) + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(label, "-", "-", "interrupted");
        }
    }

    private static String describe(HttpResponse<String> res) {
        if (res.statusCode() < 300) {
            return "forwarded: " + res.body().trim();
        }
        try {
            JsonNode body = JSON.readTree(res.body());
            String kind = res.statusCode() >= 500 ? "failed" : "blocked";
            return kind + ": " + body.path("error").asText() + " (" + body.path("reason").asText() + ")";
        } catch (IOException e) {
            return "answered " + res.statusCode();
        }
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
