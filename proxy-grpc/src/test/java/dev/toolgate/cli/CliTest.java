package dev.toolgate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.JwtSvidValidator;
import dev.toolgate.identity.SpiffeId;
import java.time.Clock;
import java.time.Duration;
import dev.toolgate.identity.Svid;
import dev.toolgate.identity.TrustBundles;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CliTest {
    @TempDir
    Path dir;

    @Test
    void devCaIssueWritesAnSvidTheBundleVerifies() throws Exception {
        Path out = dir.resolve("a1");
        int exit = Main.commandLine().execute("dev-ca", "issue", "spiffe://toolgate.dev/agents/a1",
                "--out", out.toString(), "--state-dir", dir.resolve("state").toString(), "--ttl", "1h");
        assertThat(exit).isZero();
        Svid svid = Svid.load(out.resolve("svid.pem"), out.resolve("svid.key"));
        assertThat(svid.id()).isEqualTo(SpiffeId.parse("spiffe://toolgate.dev/agents/a1"));
        var bundle = TrustBundles.loadPem(out.resolve("bundle.pem"));
        svid.leaf().verify(bundle.get(0).getPublicKey());
        assertThat(svid.leaf().getNotAfter().getTime() - svid.leaf().getNotBefore().getTime())
                .isLessThanOrEqualTo(61 * 60 * 1000L);
    }

    @Test
    void devCaJwtMintsAJwtSvidTheDevCasJwtBundleVerifies() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));
        Path state = dir.resolve("state");
        int exit = cli.execute("dev-ca", "jwt", "spiffe://toolgate.dev/agents/a1", "--audience", "toolgate",
                "--state-dir", state.toString(), "--ttl", "2m");
        assertThat(exit).isZero();
        String token = out.toString().trim();
        JwtSvidValidator v = JwtSvidValidator.of(DevCa.openOrCreate(state, "toolgate.dev").jwtBundles(), "toolgate",
                Duration.ZERO, Clock.systemUTC());
        assertThat(v.validate(token)).isEqualTo(SpiffeId.parse("spiffe://toolgate.dev/agents/a1"));
        assertThatThrownBy(() -> JwtSvidValidator.of(DevCa.openOrCreate(state, "toolgate.dev").jwtBundles(),
                "someone-else", Duration.ZERO, Clock.systemUTC()).validate(token))
                .hasMessageContaining("does not contain \"someone-else\"");

        cli.setErr(new PrintWriter(new StringWriter()));
        assertThat(cli.execute("dev-ca", "jwt", "spiffe://toolgate.dev", "--audience", "toolgate",
                "--state-dir", state.toString())).isEqualTo(2);
    }

    @Test
    void javaUtilLoggingGoesThroughLogback() {
        Main.bridgeJulToSlf4j();
        Main.bridgeJulToSlf4j(); // idempotent: one handler, not two
        ch.qos.logback.classic.Logger spiffe = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                "io.spiffe.workloadapi.test");
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen =
                new ch.qos.logback.core.read.ListAppender<>();
        seen.start();
        spiffe.addAppender(seen);
        try {
            java.util.logging.Logger.getLogger("io.spiffe.workloadapi.test").warning("watcher stopped: test");
        } finally {
            spiffe.detachAppender(seen);
        }
        assertThat(seen.list).singleElement().satisfies(e -> {
            assertThat(e.getFormattedMessage()).isEqualTo("watcher stopped: test");
            assertThat(e.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
        });
        assertThat(java.util.logging.LogManager.getLogManager().getLogger("").getHandlers())
                .singleElement().isInstanceOf(org.slf4j.bridge.SLF4JBridgeHandler.class);
    }

    @Test
    void devCaIssueRefusesAnInvalidId() {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute("dev-ca", "issue", "spiffe://Toolgate.dev/a", "--out", dir.resolve("x").toString(),
                "--state-dir", dir.resolve("state").toString());
        assertThat(exit).isEqualTo(2);
        assertThat(Files.exists(dir.resolve("x"))).isFalse();
    }

    @Test
    void runRefusesABadConfigWithExitCode2() throws Exception {
        Path cfg = dir.resolve("bad.yaml");
        Files.writeString(cfg, "listener: {port: 99999}\n");
        assertThat(Main.commandLine().execute("run", "--config", cfg.toString())).isEqualTo(2);
    }

    @Test
    void runWithMissingIdentityFilesSaysSoInOneLine() throws Exception {
        Path cfg = dir.resolve("files.yaml");
        Files.writeString(cfg, """
                identity: {source: files, certificate: nope/svid.pem, key: nope/svid.key, bundle: nope/bundle.pem}
                audit: {file: audit/audit.jsonl}
                listener: {port: 0}
                admin: {port: 0}
                """);
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            assertThat(Main.commandLine().execute("run", "--config", cfg.toString())).isEqualTo(2);
        } finally {
            System.setErr(old);
        }
        assertThat(err.toString(java.nio.charset.StandardCharsets.UTF_8))
                .startsWith("toolgate: cannot load the sidecar's identity (files): ")
                .contains("svid.pem");
    }

    @Test
    void auditVerifyCallsATornTailATornTailAndABadLineInTheMiddleABrokenChain() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        dev.toolgate.audit.AuditTrail trail = dev.toolgate.audit.AuditTrail.start(
                dev.toolgate.audit.FileAuditSink.open(file), null, 16);
        for (int i = 0; i < 3; i++) {
            assertThat(trail.offer(dev.toolgate.audit.AuditRecord.decision(java.time.Instant.now(), "d" + i, null,
                    null, "spiffe://toolgate.dev/agents/a1", "weather", "http", "GET /x", "allow", "ALLOW", "ok",
                    "enforce", 1))).isTrue();
        }
        trail.close();
        java.util.List<String> lines = Files.readAllLines(file);
        Files.writeString(file, "{\"phase\":\"deci", java.nio.file.StandardOpenOption.APPEND);

        StringWriter out = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out));
        assertThat(cli.execute("audit", "verify", file.toString())).isEqualTo(3);
        assertThat(out.toString()).contains(":4: torn tail").contains("3 records before it verified")
                .doesNotContain("chain broken");

        lines.set(1, lines.get(1).substring(0, 20));
        Files.write(file, lines);
        StringWriter broken = new StringWriter();
        cli.setOut(new PrintWriter(broken));
        assertThat(cli.execute("audit", "verify", file.toString())).isEqualTo(1);
        assertThat(broken.toString()).contains(":2: not a JSON record").doesNotContain("torn");
    }
}
