package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS material from PEM files (certificate chain, key, trust bundles by trust domain: {@link TrustBundleFiles}) that
 * follows the files: when any of them changes (also through a symlink swap, as Kubernetes does for mounted Secrets
 * and ConfigMaps, or spiffe-helper rewriting them), the new SVID and bundles are loaded and used for every new
 * handshake; established connections keep the
 * context they were made with, so rotation drops no call. A set of files that does not load (half written, key
 * not matching, a CA in the bundle of another trust domain) is refused whole and the previous material stays in
 * force; the next change is tried again. Each CA verifies only IDs of the trust domain of its bundle file.
 *
 * <p>The files are polled (cheap: one stat call per file and interval) because file-watch events are unreliable on
 * the symlink swaps of mounted volumes. Thread-safe; {@link #close} stops the polling.
 */
public final class FileTlsMaterial implements TlsMaterial, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FileTlsMaterial.class);

    private final Path certificate;
    private final Path key;
    private final TrustBundleFiles bundles;
    private final ScheduledExecutorService poller;
    private volatile TlsMaterial current;
    private volatile String fingerprint;

    private FileTlsMaterial(Path certificate, Path key, TrustBundleFiles bundles) {
        this.certificate = certificate;
        this.key = key;
        this.bundles = bundles;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "toolgate-svid-files");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * {@link #watch(Path, Path, TrustBundleFiles, Duration)} with one bundle file, for the trust domain of the SVID
     * only ({@link TrustBundleFiles#ownTrustDomain}).
     *
     * @throws IOException if a file cannot be read
     * @throws GeneralSecurityException as {@link #watch(Path, Path, TrustBundleFiles, Duration)}
     */
    public static FileTlsMaterial watch(Path certificate, Path key, Path bundle, Duration interval)
            throws IOException, GeneralSecurityException {
        return watch(certificate, key, TrustBundleFiles.ownTrustDomain(requireNonNull(bundle, "bundle")), interval);
    }

    /**
     * Loads the files now (failing if they do not load) and checks them for changes every {@code interval}.
     *
     * @throws IOException if a file cannot be read
     * @throws GeneralSecurityException if the certificates or key cannot be parsed or do not form an SVID, or the
     *     bundles do not load by {@link TrustBundleFiles#load} (a CA in the file of another trust domain, none or
     *     two for the SVID's own trust domain)
     */
    public static FileTlsMaterial watch(Path certificate, Path key, TrustBundleFiles bundles, Duration interval)
            throws IOException, GeneralSecurityException {
        FileTlsMaterial m = new FileTlsMaterial(requireNonNull(certificate, "certificate"), requireNonNull(key, "key"),
                requireNonNull(bundles, "bundles"));
        m.fingerprint = m.fingerprintNow();
        m.current = m.load();
        long ms = Math.max(10, interval.toMillis());
        m.poller.scheduleWithFixedDelay(m::checkForChange, ms, ms, TimeUnit.MILLISECONDS);
        return m;
    }

    private TlsMaterial load() throws IOException, GeneralSecurityException {
        Svid own = Svid.load(certificate, key);
        TrustBundles trusted = bundles.load(own.id().trustDomain());
        try {
            return TlsMaterial.of(own, trusted);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new GeneralSecurityException(e.getMessage(), e);
        }
    }

    private void checkForChange() {
        String now;
        try {
            now = fingerprintNow();
        } catch (IOException e) {
            log.warn("cannot stat the SVID files (keeping the current ones): {}", e.toString());
            return;
        }
        if (now.equals(fingerprint)) {
            return;
        }
        try {
            TlsMaterial next = load();
            current = next;
            fingerprint = now;
            log.info("SVID files changed: now serving as {} (certificate valid until {}), trusting {}",
                    next.svid().id(), next.svid().leaf().getNotAfter().toInstant(), bundles);
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            // Half-written or inconsistent files: keep serving with the previous material, retry on the next change.
            log.error("SVID files changed but do not load; keeping the previous SVID: {}", e.toString());
            fingerprint = now;
        }
    }

    /** Real path, modification time and size of each file: changes with an in-place write and a symlink swap. */
    private String fingerprintNow() throws IOException {
        StringBuilder sb = new StringBuilder();
        List<Path> files = new ArrayList<>(List.of(certificate, key));
        files.addAll(bundles.files());
        for (Path p : files) {
            Path real = p.toRealPath();
            sb.append(real).append('@').append(Files.getLastModifiedTime(real).toMillis())
                    .append('/').append(Files.size(real)).append(';');
        }
        return sb.toString();
    }

    @Override
    public SslContext serverContext(boolean clientCertificateRequired) {
        return current.serverContext(clientCertificateRequired);
    }

    @Override
    public SslContext upstreamContext(SpiffeId expected, boolean http2) {
        return current.upstreamContext(expected, http2);
    }

    @Override
    public Svid svid() {
        return current.svid();
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
