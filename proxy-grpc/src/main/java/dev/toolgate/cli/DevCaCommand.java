package dev.toolgate.cli;

import dev.toolgate.config.ConfigLoader;
import dev.toolgate.identity.DevCa;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.Svid;
import dev.toolgate.identity.TrustBundles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code toolgate dev-ca issue SPIFFE_ID}: mints a dev X.509-SVID; {@code toolgate dev-ca jwt SPIFFE_ID --audience A}:
 * a dev JWT-SVID (demo and tests only).
 */
@Command(name = "dev-ca", mixinStandardHelpOptions = true,
        description = "Built-in development CA (never for production: use SPIRE or PEM files).",
        subcommands = {DevCaCommand.Issue.class, DevCaCommand.Jwt.class})
final class DevCaCommand {

    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = "Mint an X.509-SVID: writes svid.pem (chain), svid.key and bundle.pem.")
    static final class Issue implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SPIFFE_ID", description = "e.g. spiffe://toolgate.dev/agents/a1")
        String id;

        @Option(names = "--out", description = "Output directory (default: ./<last path segment>).")
        Path out;

        @Option(names = "--state-dir", defaultValue = ".toolgate/dev-ca",
                description = "Where the dev CA of the trust domain lives (created on first use).")
        Path stateDir;

        @Option(names = "--ttl", defaultValue = "24h", description = "Validity, e.g. 1h, 24h.")
        String ttl;

        @Option(names = "--dns", split = ",", defaultValue = "localhost", description = "DNS SANs.")
        List<String> dns;

        @Option(names = "--ip", split = ",", defaultValue = "127.0.0.1,::1", description = "IP SANs.")
        List<String> ips;

        @Override
        public Integer call() throws Exception {
            SpiffeId spiffeId;
            Duration validity;
            try {
                spiffeId = SpiffeId.parse(id);
                validity = ConfigLoader.parseDuration(ttl);
            } catch (IllegalArgumentException e) {
                System.err.println("toolgate dev-ca issue: " + e.getMessage());
                return 2;
            }
            DevCa ca = DevCa.openOrCreate(stateDir, spiffeId.trustDomain());
            Svid svid = ca.issue(spiffeId, validity, dns, ips);
            Path dir = out != null ? out : Path.of(spiffeId.path().substring(spiffeId.path().lastIndexOf('/') + 1));
            Files.createDirectories(dir);
            svid.writeTo(dir.resolve("svid.pem"), dir.resolve("svid.key"));
            TrustBundles.writePem(dir.resolve("bundle.pem"), List.of(ca.certificate()));
            System.out.printf("issued %s (valid %s) into %s: svid.pem svid.key bundle.pem%n", spiffeId, ttl, dir);
            return 0;
        }
    }

    @Command(name = "jwt", mixinStandardHelpOptions = true,
            description = "Mint a JWT-SVID signed by the dev CA's JWT key (ES256) and print it; a sidecar with "
                    + "identity source dev and listener.jwtSvid enabled accepts it as Authorization: Bearer.")
    static final class Jwt implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SPIFFE_ID", description = "e.g. spiffe://toolgate.dev/agents/a1")
        String id;

        @Option(names = "--audience", required = true,
                description = "The aud claim: the sidecar's listener.jwtSvid.audience.")
        String audience;

        @Option(names = "--state-dir", defaultValue = ".toolgate/dev-ca",
                description = "Where the dev CA of the trust domain lives (created on first use).")
        Path stateDir;

        @Option(names = "--ttl", defaultValue = "5m", description = "Validity, e.g. 5m, 1h.")
        String ttl;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            SpiffeId spiffeId;
            Duration validity;
            String token;
            try {
                spiffeId = SpiffeId.parse(id);
                validity = ConfigLoader.parseDuration(ttl);
                token = DevCa.openOrCreate(stateDir, spiffeId.trustDomain()).mintJwtSvid(spiffeId, audience, validity);
            } catch (IllegalArgumentException e) {
                System.err.println("toolgate dev-ca jwt: " + e.getMessage());
                return 2;
            }
            spec.commandLine().getOut().println(token);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
