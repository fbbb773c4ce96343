package dev.toolgate.testing;

import com.google.protobuf.ByteString;
import dev.toolgate.identity.Svid;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A SPIRE agent for tests: the SPIFFE Workload API ({@code SpiffeWorkloadAPI}, the service classes java-spiffe
 * ships) served over gRPC on a Unix domain socket, handing one workload the SVIDs and bundles the test sets, and
 * pushing every change to the open streams at once, as SPIRE does on rotation.
 *
 * <p>Like SPIRE it refuses a call without the {@code workload.spiffe.io: true} header ({@code INVALID_ARGUMENT},
 * "security header missing from request"), and answers {@code FetchX509SVID} with {@code PERMISSION_DENIED}
 * ("no identity issued") while it has no SVID. Unlike SPIRE, a {@code FetchJWTBundles} stream waits quietly until
 * the test sets JWT bundles, and the one-shot JWT-SVID calls are not implemented ({@code UNIMPLEMENTED}).
 *
 * <p>Thread-safe.
 */
public final class TestSpireAgent implements AutoCloseable {
    private static final Metadata.Key<String> SECURITY_HEADER =
            Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);

    private final Path socket;
    private final EventLoopGroup group;
    private final Server server;
    private final Object lock = new Object();
    private final List<ServerCallStreamObserver<Workload.X509SVIDResponse>> x509Streams = new ArrayList<>();
    private final List<ServerCallStreamObserver<Workload.X509BundlesResponse>> bundleStreams = new ArrayList<>();
    private final List<ServerCallStreamObserver<Workload.JWTBundlesResponse>> jwtStreams = new ArrayList<>();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger x509Calls = new AtomicInteger();
    // @GuardedBy("lock")
    private Workload.X509SVIDResponse x509;
    // @GuardedBy("lock")
    private Workload.JWTBundlesResponse jwt;

    private TestSpireAgent(Path socket) {
        this.socket = socket;
        this.group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        this.server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class)
                .bossEventLoopGroup(group)
                .workerEventLoopGroup(group)
                // grpc sets it for TCP; a Unix domain socket has no such option (Netty would warn per connection).
                .withChildOption(ChannelOption.SO_KEEPALIVE, null)
                .directExecutor()
                .addService(ServerInterceptors.intercept(new Api(), new SecurityHeaderCheck()))
                .build();
    }

    /** Serves on {@code socket} (a stale socket file there is removed first, as SPIRE's agent does). */
    public static TestSpireAgent start(Path socket) throws IOException {
        Path path = socket.toAbsolutePath();
        Files.deleteIfExists(path);
        TestSpireAgent agent = new TestSpireAgent(path);
        try {
            agent.server.start();
        } catch (IOException | RuntimeException e) {
            agent.group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        return agent;
    }

    /** The address for a Workload API client: {@code unix:///...}. */
    public String address() {
        return "unix://" + socket;
    }

    public Path socket() {
        return socket;
    }

    /** Issues {@code svid} as the workload's only SVID, with {@code ca} as its trust domain's bundle. */
    public void issue(Svid svid, X509Certificate ca) {
        issue(List.of(svid), List.of(ca), Map.of());
    }

    /**
     * Replaces what the workload gets and pushes it to every open stream: {@code svids} (the first is the
     * default), {@code bundle} (the CAs of their trust domain) and {@code federated} bundles by trust domain.
     */
    public void issue(List<Svid> svids, List<X509Certificate> bundle, Map<String, List<X509Certificate>> federated) {
        Workload.X509SVIDResponse.Builder b = Workload.X509SVIDResponse.newBuilder();
        ByteString bundleDer = der(bundle);
        for (Svid svid : svids) {
            b.addSvids(Workload.X509SVID.newBuilder()
                    .setSpiffeId(svid.id().toString())
                    .setX509Svid(der(svid.chain()))
                    .setX509SvidKey(ByteString.copyFrom(svid.key().getEncoded()))
                    .setBundle(bundleDer));
        }
        federated.forEach((td, cas) -> b.putFederatedBundles(td, der(cas)));
        Workload.X509SVIDResponse response = b.build();
        Workload.X509BundlesResponse.Builder bundles = Workload.X509BundlesResponse.newBuilder();
        federated.forEach((td, cas) -> bundles.putBundles(td, der(cas)));
        svids.forEach(s -> bundles.putBundles(s.id().trustDomain(), bundleDer));
        synchronized (lock) {
            x509 = response;
            pushAll(x509Streams, response);
            pushAll(bundleStreams, bundles.build());
        }
    }

    /** Replaces the JWT bundles (JWKS documents by trust domain) and pushes them to every open stream. */
    public void issueJwtBundles(Map<String, String> jwksByTrustDomain) {
        Workload.JWTBundlesResponse.Builder b = Workload.JWTBundlesResponse.newBuilder();
        jwksByTrustDomain.forEach((td, jwks) -> b.putBundles(td, ByteString.copyFrom(jwks, StandardCharsets.UTF_8)));
        synchronized (lock) {
            jwt = b.build();
            pushAll(jwtStreams, jwt);
        }
    }

    /** Ends every open stream with {@code UNAVAILABLE}, as a broken connection would; the agent keeps serving. */
    public void breakStreams() {
        synchronized (lock) {
            for (List<? extends ServerCallStreamObserver<?>> streams : List.of(x509Streams, bundleStreams, jwtStreams)) {
                for (ServerCallStreamObserver<?> s : streams) {
                    try {
                        s.onError(Status.UNAVAILABLE.withDescription("test agent broke the stream").asRuntimeException());
                    } catch (RuntimeException ignored) {
                        // already cancelled by the client
                    }
                }
                streams.clear();
            }
        }
    }

    /** Calls refused for lacking the security header. */
    public int refusedCalls() {
        return refused.get();
    }

    /** {@code FetchX509SVID} calls received (with the header), the client's reconnections included. */
    public int x509Calls() {
        return x509Calls.get();
    }

    /** Open {@code FetchX509SVID} streams. */
    public int openX509Streams() {
        synchronized (lock) {
            return x509Streams.size();
        }
    }

    /** Stops at once, ending every stream ({@code UNAVAILABLE}), and removes the socket. */
    @Override
    public void close() throws IOException {
        breakStreams();
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        Files.deleteIfExists(socket);
    }

    private static <T> void pushAll(List<ServerCallStreamObserver<T>> streams, T message) {
        streams.removeIf(s -> {
            if (s.isCancelled()) {
                return true;
            }
            try {
                s.onNext(message);
                return false;
            } catch (RuntimeException e) {
                return true;
            }
        });
    }

    private <T> void open(List<ServerCallStreamObserver<T>> streams, StreamObserver<T> observer, T initial) {
        ServerCallStreamObserver<T> s = (ServerCallStreamObserver<T>) observer;
        s.setOnCancelHandler(() -> {
            synchronized (lock) {
                streams.remove(s);
            }
        });
        streams.add(s);
        if (initial != null) {
            s.onNext(initial);
        }
    }

    private static ByteString der(List<X509Certificate> certs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            for (X509Certificate c : certs) {
                out.write(c.getEncoded());
            }
        } catch (CertificateEncodingException | IOException e) {
            throw new IllegalStateException(e);
        }
        return ByteString.copyFrom(out.toByteArray());
    }

    private final class Api extends SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase {
        @Override
        public void fetchX509SVID(Workload.X509SVIDRequest request,
                                  StreamObserver<Workload.X509SVIDResponse> observer) {
            TestSpireAgent a = TestSpireAgent.this;
            a.x509Calls.incrementAndGet();
            synchronized (a.lock) {
                if (a.x509 == null) {
                    observer.onError(Status.PERMISSION_DENIED.withDescription("no identity issued").asRuntimeException());
                    return;
                }
                a.open(a.x509Streams, observer, a.x509);
            }
        }

        @Override
        public void fetchX509Bundles(Workload.X509BundlesRequest request,
                                     StreamObserver<Workload.X509BundlesResponse> observer) {
            TestSpireAgent a = TestSpireAgent.this;
            synchronized (a.lock) {
                if (a.x509 == null) {
                    observer.onError(Status.PERMISSION_DENIED.withDescription("no identity issued").asRuntimeException());
                    return;
                }
                Workload.X509BundlesResponse.Builder b = Workload.X509BundlesResponse.newBuilder();
                a.x509.getFederatedBundlesMap().forEach(b::putBundles);
                for (Workload.X509SVID svid : a.x509.getSvidsList()) {
                    String td = svid.getSpiffeId().substring("spiffe://".length()).split("/", 2)[0];
                    b.putBundles(td, svid.getBundle());
                }
                a.open(a.bundleStreams, observer, b.build());
            }
        }

        @Override
        public void fetchJWTBundles(Workload.JWTBundlesRequest request,
                                    StreamObserver<Workload.JWTBundlesResponse> observer) {
            TestSpireAgent a = TestSpireAgent.this;
            synchronized (a.lock) {
                a.open(a.jwtStreams, observer, a.jwt);
            }
        }
    }

    /** SPIRE refuses any call without {@code workload.spiffe.io: true}: it shows the caller is no browser. */
    private final class SecurityHeaderCheck implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                           ServerCallHandler<Q, R> next) {
            if (!"true".equals(headers.get(SECURITY_HEADER))) {
                refused.incrementAndGet();
                call.close(Status.INVALID_ARGUMENT.withDescription("security header missing from request"),
                        new Metadata());
                return new ServerCall.Listener<>() {};
            }
            return next.startCall(call, headers);
        }
    }
}
