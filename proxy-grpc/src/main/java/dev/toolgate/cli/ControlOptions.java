package dev.toolgate.cli;

import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.ControlConfig;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.Svid;
import dev.toolgate.identity.TlsMaterial;
import dev.toolgate.identity.TrustBundles;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;

/**
 * How a command reaches the control API: the address, the caller's SVID (the files {@code dev-ca issue} writes, or
 * those SPIRE's helper keeps up to date) and how the sidecar is verified. A picocli mixin.
 */
final class ControlOptions {
    @Option(names = "--control", defaultValue = "127.0.0.1:" + ControlConfig.DEFAULT_PORT, paramLabel = "HOST:PORT",
            description = "The sidecar's control API (default: ${DEFAULT-VALUE}).")
    String control;

    @Option(names = "--svid-dir", defaultValue = ".", paramLabel = "DIR",
            description = "Directory with this caller's svid.pem (chain), svid.key and bundle.pem (default: the"
                    + " current directory).")
    Path svidDir;

    @Option(names = "--server-id", paramLabel = "SPIFFE_ID",
            description = "Verify the sidecar by this SPIFFE ID (for SVIDs without DNS or IP names, e.g. from SPIRE)"
                    + " instead of by host name.")
    String serverId;

    @Option(names = "--timeout", defaultValue = "10s", paramLabel = "DURATION",
            description = "Deadline of each request (default: ${DEFAULT-VALUE}).")
    String timeout;

    /** The deadline of a unary call. */
    Duration timeout() {
        return ConfigLoader.parseDuration(timeout);
    }

    /**
     * A channel to the control API over mTLS, presenting the SVID of {@link #svidDir}.
     *
     * @throws IllegalArgumentException if an option is malformed (named in the message)
     * @throws IOException if the SVID files cannot be read
     * @throws GeneralSecurityException if they do not hold an SVID and a bundle
     */
    ManagedChannel channel() throws IOException, GeneralSecurityException {
        int colon = control.lastIndexOf(':');
        if (colon <= 0 || colon == control.length() - 1) {
            throw new IllegalArgumentException("--control: \"" + control + "\" (expected: HOST:PORT)");
        }
        String host = control.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(control.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--control: \"" + control + "\" (expected: HOST:PORT)");
        }
        Svid svid = Svid.load(svidDir.resolve("svid.pem"), svidDir.resolve("svid.key"));
        List<X509Certificate> cas = TrustBundles.loadPem(svidDir.resolve("bundle.pem"));
        SslContext tls;
        if (serverId != null) {
            SpiffeId expected = SpiffeId.parse(serverId);
            tls = TlsMaterial.of(svid, TrustBundles.single(svid.id().trustDomain(), cas))
                    .upstreamContext(expected, true);
        } else {
            tls = GrpcSslContexts.forClient()
                    .keyManager(svid.key(), svid.chain().toArray(new X509Certificate[0]))
                    .trustManager(cas.toArray(new X509Certificate[0]))
                    .build();
        }
        return NettyChannelBuilder.forAddress(host.startsWith("[") ? host.substring(1, host.length() - 1) : host,
                        port)
                .sslContext(tls)
                .build();
    }

    /** Closes a channel, waiting briefly for calls to end. */
    static void close(ManagedChannel channel) {
        channel.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Prints a refused or failed call in one line; the exit code for it. */
    int refused(PrintWriter err, String command, StatusRuntimeException e) {
        Status s = e.getStatus();
        String why = s.getDescription() == null ? "" : ": " + s.getDescription();
        if (s.getCause() != null) {
            // The transport failed before the sidecar answered (connection refused, TLS handshake failure, ...).
            Throwable root = s.getCause();
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            why += " (" + root.getMessage() + "; is a sidecar serving its control API on " + control + "?)";
        } else if (s.getCode() == Status.Code.DEADLINE_EXCEEDED) {
            why += " (no answer within --timeout " + timeout + ")";
        }
        err.println("toolgate " + command + ": " + s.getCode() + why);
        err.flush();
        return 1;
    }

    /** Prints a local problem (options, SVID files) in one line; the exit code for it. */
    static int unusable(PrintWriter err, String command, Exception e) {
        err.println("toolgate " + command + ": " + e.getMessage());
        err.flush();
        return 2;
    }
}
