package dev.toolgate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code toolgate run} process started with the test's class path; every line of its diagnostic log (stderr) is
 * kept in {@code log}. Stopped with SIGKILL.
 */
record SidecarProcess(Process process, int port, int controlPort, List<String> log) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SERVING =
            Pattern.compile("serving agents on [^ ]*:(\\d+) .*; control API on [^ ;]*:(\\d+);");

    /** Starts {@code toolgate run --config config} logging at INFO, and waits until it serves. */
    static SidecarProcess launch(Path config) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", "--config",
                config.toString(), "--workers", "1")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("TOOLGATE_LOG_LEVEL", "INFO");
        Process p = pb.start();
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        List<String> log = new CopyOnWriteArrayList<>();
        CompletableFuture<int[]> port = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line = err.readLine(); line != null; line = err.readLine()) {
                    log.add(line);
                    Matcher m = SERVING.matcher(line);
                    if (m.find()) {
                        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
                    }
                }
                throw new IllegalStateException("the sidecar exited before serving");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            int[] listening = port.get(60, TimeUnit.SECONDS);
            // Keep draining stderr (into the log) so the process never blocks on a full pipe.
            Thread drain = new Thread(() -> err.lines().forEach(log::add), "sidecar-stderr");
            drain.setDaemon(true);
            drain.start();
            return new SidecarProcess(p, listening[0], listening[1], log);
        } catch (Exception e) {
            p.destroyForcibly();
            throw e;
        }
    }

    HttpResponse<String> send(HttpClient client, String method, String path, String body, String... headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode post(HttpClient client, String path, String body) throws Exception {
        HttpResponse<String> res = send(client, "POST", path, body);
        assertThat(res.statusCode()).as(res.body()).isEqualTo(201);
        return JSON.readTree(res.body());
    }

    HttpResponse<String> get(HttpClient client, String path, String token) throws Exception {
        return send(client, "GET", path, null, "toolgate-task", token);
    }

    /** SIGKILL: no shutdown hook runs, nothing is flushed or closed cleanly. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
}
