package dev.toolgate.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.identity.Svid;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.proxy.RouteReloader;
import dev.toolgate.telemetry.ProxyMetrics;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import io.grpc.Attributes;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerTransportFilter;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gRPC route (HTTP/2 upstream, one multiplexed connection per event loop) moved to another server by a route
 * reload: the next call goes to the new server, while a bidi stream opened before the reload keeps talking to the
 * old one until it ends; then the old connection is closed (drained, not reused, not cut, not left open).
 */
class GrpcRouteReloadTest {
    @TempDir
    Path dir;

    @Test
    void aMovedGrpcRouteTakesTheNextCallWhileAnOpenStreamFinishesOnTheOldServer() throws Exception {
        AtomicInteger callsA = new AtomicInteger();
        AtomicInteger callsB = new AtomicInteger();
        CountDownLatch closedA = new CountDownLatch(1);
        Server a = server(callsA, closedA);
        Server b = server(callsB, new CountDownLatch(1));
        TestPki pki = TestPki.create(dir);
        Path routes = Files.writeString(dir.resolve("routes.yaml"), route(a));
        SidecarConfig config = Sidecar.config(ConfigLoader.loadRoutes(routes)).withRouteSources(List.of(routes));
        AuditTrail audit = AuditTrail.start(new MemoryAuditSink(), null, 10_000);
        ProxyMetrics metrics = ProxyMetrics.create();
        // The sidecar follows the route file; the test checks it by hand.
        ProxyServer sidecar = Sidecar.builder(pki, config).audit(audit).metrics(metrics)
                .reloadInterval(Duration.ofHours(1)).build();
        RouteReloader reloader = sidecar.routeReloader();
        Svid agent = pki.issue(TestPki.AGENT);
        ManagedChannel managed = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.port())
                .sslContext(GrpcSslContexts.forClient()
                        .keyManager(agent.key(), agent.chain().toArray(new X509Certificate[0]))
                        .trustManager(pki.ca().certificate()).build())
                .build();
        try {
            Metadata token = new Metadata();
            token.put(Metadata.Key.of("toolgate-task", Metadata.ASCII_STRING_MARSHALLER),
                    Sidecar.taskForEverything(sidecar, TestPki.AGENT));
            io.grpc.Channel channel = ClientInterceptors.intercept(managed,
                    MetadataUtils.newAttachHeadersInterceptor(token));

            BlockingQueue<String> answers = new LinkedBlockingQueue<>();
            CountDownLatch done = new CountDownLatch(1);
            StreamObserver<SimpleRequest> open = SimpleServiceGrpc.newStub(channel).bidiStreamingRpc(
                    new StreamObserver<>() {
                        @Override
                        public void onNext(SimpleResponse value) {
                            answers.add(value.getResponseMessage());
                        }

                        @Override
                        public void onError(Throwable t) {
                            answers.add("error: " + t);
                            done.countDown();
                        }

                        @Override
                        public void onCompleted() {
                            answers.add("completed");
                            done.countDown();
                        }
                    });
            open.onNext(request("before"));
            assertThat(answers.poll(10, TimeUnit.SECONDS)).isEqualTo("echo:before");
            assertThat(callsA.get()).isEqualTo(1);
            assertThat(closedA.getCount()).isEqualTo(1);

            FileTime before = Files.getLastModifiedTime(routes);
            Files.writeString(routes, route(b));
            Files.setLastModifiedTime(routes, FileTime.fromMillis(before.toMillis() + 2000));
            assertThat(reloader.checkNow()).isTrue();

            assertThat(SimpleServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .unaryRpc(request("after")).getResponseMessage()).isEqualTo("after");
            assertThat(callsB.get()).as("the next call goes to the new server").isEqualTo(1);
            assertThat(callsA.get()).isEqualTo(1);

            open.onNext(request("still"));
            assertThat(answers.poll(10, TimeUnit.SECONDS)).as("the open stream still reaches the old server")
                    .isEqualTo("echo:still");
            open.onCompleted();
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(answers.poll()).isEqualTo("completed");
            assertThat(closedA.await(10, TimeUnit.SECONDS)).as("the drained connection to the old server is closed")
                    .isTrue();
        } finally {
            managed.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            sidecar.close();
            audit.close();
            a.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            b.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static String route(Server to) {
        return "routes:\n  - {name: simple, grpc: grpc.testing.SimpleService, upstream: {url: \"http://127.0.0.1:"
                + to.getPort() + "\"}}\n";
    }

    private static SimpleRequest request(String message) {
        return SimpleRequest.newBuilder().setRequestMessage(message).build();
    }

    /** A SimpleService server on port 0 that counts the calls it receives and tells when a connection ends. */
    private static Server server(AtomicInteger calls, CountDownLatch connectionClosed) throws Exception {
        ServerInterceptor counting = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                              ServerCallHandler<Q, R> next) {
                calls.incrementAndGet();
                return next.startCall(call, headers);
            }
        };
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(new ScriptedSimpleService(), counting))
                .addTransportFilter(new ServerTransportFilter() {
                    @Override
                    public void transportTerminated(Attributes transportAttrs) {
                        connectionClosed.countDown();
                    }
                })
                .build()
                .start();
    }
}
