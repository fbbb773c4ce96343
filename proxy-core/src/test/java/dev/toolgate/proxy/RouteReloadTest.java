package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.ConfigException;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskException;
import dev.toolgate.policy.PolicyWatcher;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import dev.toolgate.testing.TestUpstream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Route hot reload on a running sidecar (real mTLS, real upstreams on port 0, route files on disk): added, changed
 * and removed routes take effect on the next call without a restart, calls in flight finish where they started, a
 * change that does not hold (bad YAML, unknown key, bad URL, missing credential, an orphaned policy rule) leaves
 * the old routes in force and is counted, and a ConfigMap symlink swap is noticed. The test drives the checks with
 * {@link RouteReloader#checkNow()} instead of waiting for the polling thread.
 */
class RouteReloadTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Long enough that only the test's own checkNow() calls run. */
    static final Duration MANUAL = Duration.ofHours(1);

    @TempDir
    Path dir;
    Path routes;
    TestUpstream a;
    TestUpstream b;
    MemoryAuditSink sink;
    AuditTrail audit;
    PolicyWatcher policies;
    ProxyMetrics metrics;
    ProxyServer proxy;
    RouteReloader reloader;
    HttpClient agent;
    final List<String> failures = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        if (proxy != null) {
            // Closes its route reloader and policy watcher too.
            proxy.close();
        }
        if (audit != null) {
            audit.close();
        }
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    /** Starts the sidecar on the route files under {@code routes/} (and the policy in {@code policy}, if any). */
    void start(String policy) throws Exception {
        TestPki pki = TestPki.create(dir);
        routes = Files.createDirectories(dir.resolve("routes"));
        List<RouteConfig> loaded = ConfigLoader.loadRoutes(List.of(routes)).routes();
        SidecarConfig config = Sidecar.config(loaded).withRouteSources(List.of(routes));
        if (policy != null) {
            Path file = Files.createDirectories(dir.resolve("policies")).resolve("agents.yaml");
            Files.writeString(file, policy);
            config = config.withPolicies(List.of(file));
        }
        sink = new MemoryAuditSink();
        audit = AuditTrail.start(sink, null, 10_000);
        metrics = ProxyMetrics.create();
        // The builder opens the registry over the watched policy and follows the route files; checked by hand here.
        proxy = Sidecar.builder(pki, config).audit(audit).metrics(metrics).reloadInterval(MANUAL).build();
        policies = proxy.policies();
        reloader = proxy.routeReloader();
        reloader.addListener(new RouteReloader.Listener() {
            @Override
            public void failed(ConfigException error) {
                failures.add(error.getMessage());
            }
        });
        agent = HttpClient.newBuilder().sslContext(pki.jdkClient(TestPki.AGENT)).build();
    }

    void startUpstreams() throws Exception {
        a = TestUpstream.start();
        b = TestUpstream.start();
    }

    /** Writes a route file so that the change is seen whatever the file system's time granularity. */
    static Path write(Path file, String yaml) throws Exception {
        FileTime before = Files.exists(file) ? Files.getLastModifiedTime(file) : null;
        Files.createDirectories(file.getParent());
        Files.writeString(file, yaml);
        if (before != null) {
            Files.setLastModifiedTime(file, FileTime.fromMillis(before.toMillis() + 2000));
        }
        return file;
    }

    static String route(String name, String prefix, TestUpstream to, String extra) {
        return "  - {name: " + name + ", prefix: " + prefix + ", upstream: {url: \"" + to.url() + "\"}"
                + (extra.isEmpty() ? "" : ", " + extra) + "}\n";
    }

    String task(GrantRequest... grants) throws TaskException {
        return proxy.tasks().start(TestPki.AGENT, new StartRequest(null, "route reload test", null, List.of(grants)))
                .token();
    }

    static GrantRequest grant(String route, String... ops) {
        return new GrantRequest(route, List.of(ops), null, null, null);
    }

    HttpResponse<String> send(String method, String path, String token) throws Exception {
        return agent.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + path))
                .timeout(Duration.ofSeconds(10)).header("toolgate-task", token)
                .method(method, method.equals("POST") ? HttpRequest.BodyPublishers.ofString("{}")
                        : HttpRequest.BodyPublishers.noBody())
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    static String code(HttpResponse<String> res) throws Exception {
        return JSON.readTree(res.body()).path("code").asText();
    }

    @Test
    void anAddedRouteIsReachedWithoutARestartAndTheVersionIsExported() throws Exception {
        startUpstreams();
        write(dir.resolve("routes/a.yaml"), "routes:\n" + route("weather", "/api/weather", a, ""));
        start(null);
        String v1 = reloader.version();
        assertThat(reloader.checkNow()).as("nothing changed").isFalse();
        assertThatThrownBy(() -> task(grant("tools", "GET /**")))
                .as("a grant on a route that is not there yet is refused")
                .isInstanceOf(TaskException.class).hasMessageContaining("grants[0].route: \"tools\"");

        write(dir.resolve("routes/b.yaml"), "routes:\n" + route("tools", "/api/tools", b, "labels: [internal]"));
        assertThat(reloader.checkNow()).isTrue();

        assertThat(reloader.version()).isNotEqualTo(v1);
        assertThat(proxy.routes()).extracting(RouteConfig::name).containsExactlyInAnyOrder("weather", "tools");
        String token = task(grant("tools", "GET /**"), grant("weather", "GET /**"));
        HttpResponse<String> res = send("GET", "/api/tools/search?q=x", token);
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(b.requests).extracting(TestUpstream.Seen::uri).containsExactly("/search?q=x");
        assertThat(send("GET", "/api/weather/now", token).statusCode()).isEqualTo(200);
        assertThat(a.requests).extracting(TestUpstream.Seen::uri).containsExactly("/now");
        assertThat(metrics.scrape())
                .contains("toolgate_routes_version{version=\"" + reloader.version() + "\"} 1.0")
                .doesNotContain("version=\"" + v1 + "\"")
                .contains("toolgate_routes 2.0")
                .contains("toolgate_routes_reload_failures_total 0.0");
    }

    @Test
    void aChangedUpstreamTakesTheNextCallWhileAStreamOnTheOldOneCompletes() throws Exception {
        startUpstreams();
        Path file = write(dir.resolve("routes/routes.yaml"), "routes:\n" + route("weather", "/api/weather", a, ""));
        start(null);
        String token = task(grant("weather", "GET /**"));
        // A pooled keep-alive connection to A now exists: it must not carry a call meant for B.
        assertThat(send("GET", "/api/weather/warm", token).statusCode()).isEqualTo(200);
        long size = 16L * 1024 * 1024;
        HttpResponse<InputStream> stream = agent.send(
                HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/api/weather/download/"
                        + size)).header("toolgate-task", token).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.statusCode()).isEqualTo(200);
        try (InputStream in = stream.body()) {
            long read = in.readNBytes(1024 * 1024).length;
            assertThat(a.downloadBytesWritten.get()).as("the upstream waits for the agent (back-pressure)")
                    .isLessThan(size);

            write(file, "routes:\n" + route("weather", "/api/weather", b, ""));
            assertThat(reloader.checkNow()).isTrue();

            assertThat(send("GET", "/api/weather/after", token).statusCode()).isEqualTo(200);
            assertThat(b.requests).extracting(TestUpstream.Seen::uri).containsExactly("/after");
            assertThat(a.requests).extracting(TestUpstream.Seen::uri).doesNotContain("/after");

            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                read += n;
            }
            assertThat(read).as("the call in flight finished on the old upstream").isEqualTo(size);
        }
        assertThat(a.downloadBytesWritten.get()).isEqualTo(size);
    }

    @Test
    void anUnchangedUpstreamKeepsItsPooledConnection() throws Exception {
        startUpstreams();
        Path file = write(dir.resolve("routes/routes.yaml"), "routes:\n" + route("weather", "/api/weather", a, ""));
        start(null);
        String token = task(grant("weather", "GET /**"));
        assertThat(send("GET", "/api/weather/1", token).statusCode()).isEqualTo(200);
        assertThat(a.connections.get()).isEqualTo(1);
        write(file, "routes:\n" + route("weather", "/api/weather", a, "labels: [pii]"));
        assertThat(reloader.checkNow()).isTrue();
        assertThat(send("GET", "/api/weather/2", token).statusCode()).isEqualTo(200);
        assertThat(a.connections.get()).as("labels changed, the upstream did not: same pool").isEqualTo(1);
    }

    @Test
    void aRemovedRouteIsAnUnknownRouteAndALiveGrantOnItWorksAgainWhenItComesBack() throws Exception {
        startUpstreams();
        Path file = write(dir.resolve("routes/routes.yaml"), "routes:\n" + route("weather", "/api/weather", a, "")
                + route("tools", "/api/tools", b, ""));
        start(null);
        String token = task(grant("tools", "GET /**"));
        assertThat(send("GET", "/api/tools/1", token).statusCode()).isEqualTo(200);

        write(file, "routes:\n" + route("weather", "/api/weather", a, ""));
        assertThat(reloader.checkNow()).isTrue();
        HttpResponse<String> gone = send("GET", "/api/tools/2", token);
        assertThat(gone.statusCode()).isEqualTo(404);
        assertThat(code(gone)).isEqualTo("DENY_POLICY");
        assertThat(JSON.readTree(gone.body()).path("error").asText()).isEqualTo("no_route");
        assertThat(b.requests).hasSize(1);
        assertThatThrownBy(() -> task(grant("tools", "GET /**"))).isInstanceOf(TaskException.class)
                .hasMessageContaining("(expected: one of the sidecar's routes [weather])");

        write(file, "routes:\n" + route("weather", "/api/weather", a, "") + route("tools", "/api/tools", b, ""));
        assertThat(reloader.checkNow()).isTrue();
        assertThat(send("GET", "/api/tools/3", token).statusCode()).as("the same live grant").isEqualTo(200);
        assertThat(b.requests).hasSize(2);
    }

    @Test
    void changesThatDoNotHoldKeepTheOldRoutesNameFileAndLineAndAreCounted() throws Exception {
        startUpstreams();
        String good = "routes:\n" + route("weather", "/api/weather", a, "");
        Path file = write(dir.resolve("routes/routes.yaml"), good);
        start(null);
        String version = reloader.version();
        String token = task(grant("weather", "GET /**"));
        String[][] cases = {
                {"routes:\n  - name: weather\n\tprefix: /api/weather\n", "routes.yaml:3: not valid YAML",
                        "\\t"},
                {"routes:\n" + route("weather", "/api/weather", b, "lables: [pii]"),
                        "routes.yaml:2: routes[0].lables", "unknown key (expected: one of "},
                {"routes:\n" + route("weather", "/api/weather", a, "")
                        + "  - {name: ftp, prefix: /ftp, upstream: {url: \"ftp://x\"}}\n",
                        "routes.yaml:3: routes[1].upstream", "(expected: http:// or https://)"},
                {"routes:\n" + route("weather", "/api/weather", b, "credential: {type: static, file: missing.key}"),
                        "routes.yaml:2: route weather: credential.file: ", "missing.key: cannot read"},
                {"routes:\n" + route("weather", "/api/weather", b, "") + route("dup", "/api/weather", b, ""),
                        "routes.yaml:3: routes[1]: /api/weather is also matched by the route at ", "routes.yaml:2"},
        };
        for (int i = 0; i < cases.length; i++) {
            String[] c = cases[i];
            write(file, c[0]);
            assertThat(reloader.checkNow()).as(c[1]).isFalse();
            assertThat(reloader.failures()).as(c[1]).isEqualTo(i + 1);
            assertThat(failures.get(failures.size() - 1)).as(c[1]).contains(c[1]).contains(c[2]);
            assertThat(reloader.version()).isEqualTo(version);
            assertThat(send("GET", "/api/weather/x" + i, token).statusCode()).as(c[1]).isEqualTo(200);
            assertThat(b.requests).as("the old upstream still serves").isEmpty();
        }
        assertThat(a.requests).hasSize(cases.length);
        assertThat(metrics.scrape()).contains("toolgate_routes_reload_failures_total " + cases.length + ".0");

        write(file, "routes:\n" + route("weather", "/api/weather", b, ""));
        assertThat(reloader.checkNow()).as("the next good change is taken").isTrue();
        assertThat(send("GET", "/api/weather/fixed", token).statusCode()).isEqualTo(200);
        assertThat(b.requests).hasSize(1);
    }

    @Test
    void aCredentialFileThatExistsIsReadOnReloadAndInjected() throws Exception {
        startUpstreams();
        Path file = write(dir.resolve("routes/routes.yaml"), "routes:\n" + route("weather", "/api/weather", a, ""));
        start(null);
        String token = task(grant("weather", "GET /**"));
        Files.writeString(routes.resolve("weather.key"), "s3cret-2\n");
        write(file, "routes:\n" + route("weather", "/api/weather", a,
                "credential: {type: static, file: weather.key, header: x-api-key}"));
        assertThat(reloader.checkNow()).isTrue();
        assertThat(send("GET", "/api/weather/k", token).statusCode()).isEqualTo(200);
        assertThat(a.requests.get(0).headers().get("x-api-key")).isEqualTo("s3cret-2");
    }

    @Test
    void aConfigMapSymlinkSwapIsNoticed() throws Exception {
        startUpstreams();
        // Kubernetes mounts a ConfigMap as: name -> ..data/name, ..data -> ..<timestamp>/ (swapped atomically).
        Path mount = Files.createDirectories(dir.resolve("routes"));
        write(mount.resolve("..v1/routes.yaml"), "routes:\n" + route("weather", "/api/weather", a, ""));
        write(mount.resolve("..v2/routes.yaml"), "routes:\n" + route("weather", "/api/weather", b, ""));
        Files.createSymbolicLink(mount.resolve("..data"), Path.of("..v1"));
        Files.createSymbolicLink(mount.resolve("routes.yaml"), Path.of("..data/routes.yaml"));
        start(null);
        String token = task(grant("weather", "GET /**"));
        assertThat(send("GET", "/api/weather/1", token).statusCode()).isEqualTo(200);
        assertThat(a.requests).hasSize(1);

        Files.createSymbolicLink(mount.resolve("..data_tmp"), Path.of("..v2"));
        Files.move(mount.resolve("..data_tmp"), mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
        assertThat(reloader.checkNow()).isTrue();
        assertThat(send("GET", "/api/weather/2", token).statusCode()).isEqualTo(200);
        assertThat(b.requests).hasSize(1);
        assertThat(a.requests).hasSize(1);
    }

    static final String POLICY = """
            kind: Policy
            name: agents
            subjects: ["%s"]
            allow:
              - name: crm-read
                route: crm
                operations: ["GET /**"]
              - name: mail-send
                route: mail
                operations: ["POST /send"]
              - name: ext
                route: partner
                operations: ["GET /**"]
            flows:
              - name: no-pii-out
                after: [pii]
                deny: [external]
                reason: "no PII to external tools"
            """.formatted(TestPki.AGENT.uri());

    String policyRoutes(String mailLabels, boolean withPartner) {
        return "routes:\n" + route("crm", "/api/crm", a, "labels: [pii]")
                + route("mail", "/api/mail", a, "labels: " + mailLabels)
                + (withPartner ? route("partner", "/api/partner", b, "labels: [external]") : "");
    }

    @Test
    void labelsChangedOnARouteChangeFlowDecisionsOnTheNextCall() throws Exception {
        startUpstreams();
        Path file = write(dir.resolve("routes/routes.yaml"), policyRoutes("[]", true));
        start(POLICY);
        String token = task(grant("crm", "GET /**"), grant("mail", "POST /send"));
        assertThat(send("GET", "/api/crm/customers/1", token).statusCode()).isEqualTo(200);
        assertThat(send("POST", "/api/mail/send", token).statusCode()).as("mail is not external yet")
                .isEqualTo(200);

        write(file, policyRoutes("[external]", true));
        assertThat(reloader.checkNow()).isTrue();
        HttpResponse<String> out = send("POST", "/api/mail/send", token);
        assertThat(out.statusCode()).isEqualTo(403);
        assertThat(code(out)).isEqualTo("DENY_FLOW");
        assertThat(a.requests).hasSize(2);
    }

    @Test
    void aChangeThatOrphansAPolicyRuleIsRefusedWholeAndNamesTheRule() throws Exception {
        startUpstreams();
        Path file = write(dir.resolve("routes/routes.yaml"), policyRoutes("[]", true));
        start(POLICY);
        String version = reloader.version();
        String policyVersion = policies.current().version();
        String token = task(grant("partner", "GET /**"));

        // Removing "partner" leaves rule ext (and the flow's label external) without a route.
        write(file, policyRoutes("[]", false) + route("extra", "/api/extra", b, ""));
        assertThat(reloader.checkNow()).isFalse();
        assertThat(reloader.failures()).isEqualTo(1);
        assertThat(failures).singleElement().asString()
                .contains("the policy in force does not hold with these routes")
                .contains("agents.yaml:")
                .contains("\"partner\" is not a configured route");
        assertThat(reloader.version()).isEqualTo(version);
        assertThat(policies.current().version()).isEqualTo(policyVersion);
        assertThat(proxy.routes()).extracting(RouteConfig::name).containsExactlyInAnyOrder("crm", "mail", "partner");
        assertThat(send("GET", "/api/partner/x", token).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/api/extra/x", token).statusCode()).as("the new route did not come in either")
                .isEqualTo(404);
    }
}
