package dev.toolgate.identity;

import static java.util.Objects.requireNonNull;

import io.netty.handler.ssl.SslContext;
import io.spiffe.bundle.BundleSource;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.bundle.jwtbundle.JwtBundleSet;
import io.spiffe.exception.BundleNotFoundException;
import io.spiffe.exception.SocketEndpointAddressException;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.workloadapi.Address;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.Watcher;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Context;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS material from a SPIRE agent through the SPIFFE Workload API (java-spiffe's client): the sidecar's own
 * X.509-SVID and the X.509 trust bundles of every trust domain the agent hands out, federated ones included, as
 * one streamed X.509 context. Each update SPIRE pushes (a rotated SVID, a new or retired CA, a federation added
 * or removed) builds new server and upstream contexts that every new handshake uses at once; established
 * connections keep the context they were made with, so rotation drops no call. The peer verification is that of
 * every {@link TlsMaterial}: the X509-SVID rules, against the bundle of the peer's own trust domain.
 *
 * <p>An update that does not make usable material (no SVID with the configured ID, a key that does not match,
 * no bundle for the SVID's own trust domain) is refused whole and logged; the previous material stays in force.
 * So does the last material when the stream to the agent breaks: java-spiffe reconnects with exponential backoff
 * (1 s doubling up to 60 s, without end) and the next update the agent sends takes over.
 *
 * <p>JWT bundles are watched on the same connection and offered by {@link #jwtBundles()} for validating
 * JWT-SVIDs.
 *
 * <p>Thread-safe. {@link #close} ends the streams and releases the connection and its threads; the material in
 * force then stays usable but no longer rotates.
 */
public final class SpireTlsMaterial implements TlsMaterial, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SpireTlsMaterial.class);

    /** Where SPIRE's agent listens unless configured otherwise (its Helm charts and docs use this path). */
    public static final String DEFAULT_ADDRESS = "unix:///run/spire/sockets/agent.sock";

    /** The environment variable the SPIFFE Workload Endpoint standard names for the address. */
    public static final String ADDRESS_ENV = Address.SOCKET_ENV_VARIABLE;

    /** How long {@link #connect} waits for the first SVID unless told otherwise. */
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(30);

    private static final AtomicInteger THREADS = new AtomicInteger();

    private final String address;
    private final Optional<SpiffeId> wanted;
    private final CountDownLatch first = new CountDownLatch(1);
    private volatile WorkloadApiClient client;
    /** The SVID's contexts and the bundles they trust, swapped together. */
    private volatile WorkloadMaterial current;
    private volatile JwtBundleSet jwt = JwtBundleSet.emptySet();
    /** Why the last update was refused or the stream failed: for the start-up error. */
    private volatile String lastProblem;

    private SpireTlsMaterial(String address, Optional<SpiffeId> wanted) {
        this.address = address;
        this.wanted = wanted;
    }

    /**
     * The Workload API address to use: {@code configured} if not null, else the {@value #ADDRESS_ENV}
     * environment variable if set and not blank, else {@value #DEFAULT_ADDRESS}.
     *
     * @throws IllegalArgumentException if the address comes from the environment and breaks the rules of
     *     {@link #checkAddress} (the message names the variable)
     */
    public static String address(String configured) {
        return address(configured, System.getenv());
    }

    static String address(String configured, Map<String, String> env) {
        if (configured != null) {
            return configured;
        }
        String fromEnv = env.get(ADDRESS_ENV);
        if (fromEnv == null || fromEnv.isBlank()) {
            return DEFAULT_ADDRESS;
        }
        try {
            checkAddress(fromEnv.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(ADDRESS_ENV + "=" + e.getMessage(), e);
        }
        return fromEnv.trim();
    }

    /**
     * Checks a Workload API address by the SPIFFE Workload Endpoint rules: {@code unix:///absolute/path} (no
     * authority, query or fragment) or {@code tcp://IP:port}.
     *
     * @throws NullPointerException if {@code address} is null
     * @throws IllegalArgumentException with the reason if it breaks a rule
     */
    public static void checkAddress(String address) {
        requireNonNull(address, "address");
        try {
            Address.parseAddress(address);
        } catch (SocketEndpointAddressException e) {
            throw new IllegalArgumentException(address + ": " + e.getMessage()
                    + " (expected: unix:///path/to/agent.sock or tcp://IP:port)", e);
        }
    }

    /**
     * Connects to the Workload API at {@code address}, subscribes to X.509 contexts and JWT bundles, and waits up
     * to {@code startupTimeout} for the first X.509 context that makes usable material.
     *
     * @param own the sidecar's SPIFFE ID among the SVIDs the agent offers; empty: the first (SPIRE's default)
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the address breaks the rules of {@link #checkAddress} or the timeout is
     *     not positive
     * @throws IOException if no usable SVID came in time (the message says what was seen, if anything), or the
     *     wait was interrupted ({@link InterruptedIOException}, with the thread's interrupt status set)
     */
    public static SpireTlsMaterial connect(String address, Optional<SpiffeId> own, Duration startupTimeout)
            throws IOException {
        checkAddress(address);
        requireNonNull(own, "own");
        requireNonNull(startupTimeout, "startupTimeout");
        if (startupTimeout.isNegative() || startupTimeout.isZero()) {
            throw new IllegalArgumentException("startupTimeout: " + startupTimeout + " (expected: > 0)");
        }
        SpireTlsMaterial m = new SpireTlsMaterial(address, own);
        ExecutorService executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "toolgate-spire-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            // The client owns the executor from here on (it runs the channel's event loop and the stream
            // callbacks there) and shuts it down on close.
            m.client = DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                    .spiffeSocketPath(address)
                    .executorService(executor)
                    .build());
        } catch (SocketEndpointAddressException | RuntimeException e) {
            executor.shutdownNow();
            throw new IOException("cannot open the SPIFFE Workload API at " + address + ": " + e.getMessage(), e);
        }
        try {
            m.client.watchX509Context(m.new X509Watcher());
            m.client.watchJwtBundles(m.new JwtWatcher());
            if (!m.first.await(Math.max(1, startupTimeout.toNanos()), TimeUnit.NANOSECONDS)) {
                String seen = m.lastProblem;
                throw new IOException("no X.509-SVID" + own.map(id -> " for " + id).orElse("")
                        + " from the SPIFFE Workload API at " + address + " within " + startupTimeout
                        + (seen == null ? " (nothing received: is the SPIRE agent running there, and is this workload"
                                + " registered?)" : "; last problem: " + seen));
            }
        } catch (InterruptedException e) {
            m.close();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the first SVID from " + address);
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        return m;
    }

    private void onX509(X509Context update) {
        WorkloadMaterial next;
        try {
            next = WorkloadMaterial.of(update, wanted);
        } catch (GeneralSecurityException | RuntimeException e) {
            lastProblem = "update refused: " + e.getMessage();
            log.error("Workload API at {} sent an X.509 context that is refused; {}: {}", address,
                    current == null ? "still waiting for a usable one" : "keeping the previous SVID", e.toString());
            return;
        }
        boolean initial = current == null;
        current = next;
        first.countDown();
        Svid svid = next.tls().svid();
        log.info("{} SVID from the Workload API at {}: {} (certificate valid until {}); trust bundles: {}",
                initial ? "got the" : "rotated to a new", address, svid.id(), svid.leaf().getNotAfter().toInstant(),
                next.bundles().trustDomains());
    }

    private final class X509Watcher implements Watcher<X509Context> {
        @Override
        public void onUpdate(X509Context update) {
            try {
                onX509(update);
            } catch (RuntimeException e) {
                // An exception thrown into gRPC's callback would cancel the stream; keep it alive instead.
                log.error("cannot apply an X.509 context from {}", address, e);
            }
        }

        @Override
        public void onError(Throwable error) {
            // java-spiffe calls this for an update it cannot parse (the stream goes on) and when it stops the
            // watch for good (an INVALID_ARGUMENT status); ordinary stream failures are retried without a call.
            lastProblem = describe(error);
            log.error("Workload API at {}: {}; {}", address, lastProblem,
                    current == null ? "still waiting for an SVID" : "keeping the current SVID");
        }
    }

    private final class JwtWatcher implements Watcher<JwtBundleSet> {
        @Override
        public void onUpdate(JwtBundleSet update) {
            jwt = update;
            log.info("JWT bundles from the Workload API at {}: {}", address, update.getBundles().keySet());
        }

        @Override
        public void onError(Throwable error) {
            log.error("Workload API at {}: JWT bundles: {}; keeping the current ones", address, describe(error));
        }
    }

    private static String describe(Throwable error) {
        StringBuilder sb = new StringBuilder(String.valueOf(error.getMessage()));
        for (Throwable c = error.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            sb.append(": ").append(c.getMessage());
        }
        return sb.toString();
    }

    @Override
    public SslContext serverContext(boolean clientCertificateRequired) {
        return current.tls().serverContext(clientCertificateRequired);
    }

    @Override
    public SslContext upstreamContext(SpiffeId expected, boolean http2) {
        return current.tls().upstreamContext(expected, http2);
    }

    @Override
    public Svid svid() {
        return current.tls().svid();
    }

    /** The X.509 trust bundles in force: the SVID's own trust domain and every federated one. */
    public TrustBundles bundles() {
        return current.bundles();
    }

    /**
     * The JWT bundles the Workload API sent last, by trust domain, as a live view: each lookup sees the latest
     * set, and a trust domain without a bundle (or any, before the first set arrives) throws
     * {@link io.spiffe.exception.BundleNotFoundException}, so a validator built on it fails closed. The bundles
     * returned are shared: do not modify them.
     */
    public BundleSource<JwtBundle> jwtBundles() {
        return trustDomain -> jwt.getBundleForTrustDomain(trustDomain);
    }

    /**
     * The same JWT bundles as {@link JwtBundles} for {@link JwtSvidValidator}: each lookup reads the latest set the
     * Workload API sent; a trust domain without a bundle (or any lookup before the first set) has none.
     */
    public JwtBundles jwtSvidBundles() {
        return td -> {
            JwtBundleSet set = jwt;
            try {
                return set.getBundleForTrustDomain(TrustDomain.parse(td)).getJwtAuthorities();
            } catch (BundleNotFoundException | RuntimeException e) {
                return null;
            }
        };
    }

    /** The Workload API address this material follows. */
    public String address() {
        return address;
    }

    @Override
    public void close() {
        WorkloadApiClient c = client;
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            log.warn("closing the Workload API client of {}: {}", address, e.toString());
        }
    }

    @Override
    public String toString() {
        WorkloadMaterial m = current;
        return "SpireTlsMaterial{address=" + address + ", id=" + (m == null ? "none yet" : m.tls().svid().id())
                + ", bundles=" + (m == null ? "none yet" : m.bundles()) + "}";
    }
}
