package dev.toolgate.testing;

import static java.util.Objects.requireNonNull;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.proxy.SidecarBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What a data-plane test needs, started for it and closed after it: a directory, the dev-CA PKI, real loopback
 * upstreams, in-memory audit trails and sidecars built with the production {@link SidecarBuilder}.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final SidecarExtension env = new SidecarExtension();
 *
 * @BeforeAll
 * static void start() throws Exception {
 *     upstream = env.upstream();
 *     proxy = env.sidecar(Sidecar.config(List.of(Sidecar.route("weather", "/api/weather", upstream.url()))));
 * }
 * }</pre>
 *
 * <p>Registered on a static field, what {@code @BeforeAll} starts lives until the class is done and what a test
 * starts is closed when that test ends; on an instance field everything is closed after each test. Things close in
 * reverse order of their start (sidecars before the upstreams and audit trails they use), then the directory is
 * deleted. Not for parallel test execution within one class.
 */
public final class SidecarExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {

    /** An audit trail writing to memory, with its records as a test reads them. */
    public record MemoryAudit(AuditTrail trail, MemoryAuditSink sink, AuditRecords records) {}

    private final Deque<AutoCloseable> classScope = new ArrayDeque<>();
    private final Deque<AutoCloseable> testScope = new ArrayDeque<>();
    private boolean inTest;
    private boolean classRegistered;
    private Path dir;
    private TestPki pki;

    /** A directory of this extension's (deleted at the end). */
    public synchronized Path dir() throws IOException {
        if (dir == null) {
            dir = Files.createTempDirectory("toolgate-test");
        }
        return dir;
    }

    /** The dev CA and the sidecar's SVID (one per extension scope). */
    public synchronized TestPki pki() throws Exception {
        if (pki == null) {
            pki = TestPki.create(dir());
        }
        return pki;
    }

    /** A real HTTP/1.1 upstream on 127.0.0.1, closed after the scope. */
    public TestUpstream upstream() throws Exception {
        return closeAfter(TestUpstream.start());
    }

    /** An audit trail in memory (queue of 100,000 records), closed after the scope. */
    public MemoryAudit memoryAudit() {
        MemoryAuditSink sink = new MemoryAuditSink();
        AuditTrail trail = closeAfter(AuditTrail.start(sink, null, 100_000));
        return new MemoryAudit(trail, sink, AuditRecords.of(trail, sink));
    }

    /** The production builder for {@code config} with this extension's PKI ({@link Sidecar#builder}). */
    public SidecarBuilder builder(SidecarConfig config) throws Exception {
        return Sidecar.builder(pki(), config);
    }

    /** Builds {@code builder} and closes the sidecar after the scope. */
    public ProxyServer start(SidecarBuilder builder) throws Exception {
        return closeAfter(builder.build());
    }

    /** A sidecar on {@code config} with an in-memory audit trail nobody reads, closed after the scope. */
    public ProxyServer sidecar(SidecarConfig config) throws Exception {
        return start(builder(config).audit(memoryAudit().trail()));
    }

    /** A sidecar on {@code config} auditing to {@code audit}, closed after the scope (before the audit trail). */
    public ProxyServer sidecar(SidecarConfig config, MemoryAudit audit) throws Exception {
        return start(builder(config).audit(audit.trail()));
    }

    /** Closes {@code resource} after the scope it was started in; returns it. */
    public synchronized <T extends AutoCloseable> T closeAfter(T resource) {
        requireNonNull(resource, "resource");
        (inTest ? testScope : classScope).push(resource);
        return resource;
    }

    @Override
    public synchronized void beforeAll(ExtensionContext context) {
        classRegistered = true;
    }

    @Override
    public synchronized void beforeEach(ExtensionContext context) {
        inTest = true;
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        List<Throwable> failures = new ArrayList<>();
        synchronized (this) {
            inTest = false;
            closeAll(testScope, failures);
            if (!classRegistered) {
                closeAll(classScope, failures);
                deleteDir(failures);
            }
        }
        rethrow(failures);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        List<Throwable> failures = new ArrayList<>();
        synchronized (this) {
            closeAll(classScope, failures);
            deleteDir(failures);
        }
        rethrow(failures);
    }

    private static void closeAll(Deque<AutoCloseable> scope, List<Throwable> failures) {
        while (!scope.isEmpty()) {
            try {
                scope.pop().close();
            } catch (Exception | AssertionError e) {
                failures.add(e);
            }
        }
    }

    private void deleteDir(List<Throwable> failures) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            failures.add(e);
        }
        dir = null;
        pki = null;
    }

    private static void rethrow(List<Throwable> failures) throws Exception {
        if (failures.isEmpty()) {
            return;
        }
        Throwable first = failures.get(0);
        for (Throwable t : failures.subList(1, failures.size())) {
            first.addSuppressed(t);
        }
        if (first instanceof Exception e) {
            throw e;
        }
        throw (AssertionError) first;
    }
}
