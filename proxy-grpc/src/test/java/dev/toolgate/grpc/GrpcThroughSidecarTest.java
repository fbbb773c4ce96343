package dev.toolgate.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.toolgate.config.RouteConfig;
import dev.toolgate.config.UpstreamConfig;
import dev.toolgate.identity.Svid;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.StartRequest;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC end to end through the sidecar: a real grpc-java client with the agent's SVID (mTLS, ALPN h2) talks to the
 * sidecar, whose {@code grpc.testing.SimpleService} route forwards over plaintext HTTP/2 to a real grpc-java server.
 * Every case asserts what the calling agent sees (messages, status, headers, trailers) or what the tool server
 * receives. The service is {@code SimpleService} because it is the one {@code grpc-testing-proto} ships (the interop
 * {@code TestService} lives in {@code grpc-interop-testing}); its four methods cover every call shape.
 */
class GrpcThroughSidecarTest {
    private static final String SERVICE = "grpc.testing.SimpleService";
    private static final int LARGE = 4 * 1024 * 1024;
    private static final Metadata.Key<String> CASE = ascii("x-case");
    private static final Metadata.Key<String> CUSTOM = ascii("x-custom-meta");
    private static final Metadata.Key<byte[]> CUSTOM_BIN =
            Metadata.Key.of("x-custom-meta-bin", Metadata.BINARY_BYTE_MARSHALLER);
    private static final Metadata.Key<String> TIMEOUT = ascii("grpc-timeout");
    private static final Metadata.Key<String> AUTHORIZATION = ascii("authorization");
    private static final Metadata.Key<String> RESPONSE_HEADER = ascii("x-test-header");
    private static final Metadata.Key<String> RESPONSE_TRAILER = ascii("x-test-trailer");
    private static final AtomicInteger IDS = new AtomicInteger();

    @TempDir
    static Path dir;
    static TestPki pki;
    static ScriptedSimpleService service;
    static Server server;
    static ProxyServer sidecar;
    /** The agent's connection to the sidecar; {@link #channel} adds its task token to every call. */
    static ManagedChannel managed;
    static io.grpc.Channel channel;
    /** Request headers and deadline as the tool server saw them, by the call's {@code x-case} header. */
    static final Map<String, Seen> seen = new ConcurrentHashMap<>();

    record Seen(Metadata headers, Deadline deadline) {}

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create(dir);
        service = new ScriptedSimpleService();
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .directExecutor()
                .maxInboundMessageSize(2 * LARGE)
                .addService(ServerInterceptors.intercept(service, new RecordingInterceptor()))
                .build()
                .start();
        RouteConfig route = new RouteConfig("simple", null, SERVICE, null,
                new UpstreamConfig(URI.create("http://127.0.0.1:" + server.getPort()), null, null), null, null);
        sidecar = Sidecar.start(pki, Sidecar.config(List.of(route)));
        Svid agent = pki.issue(TestPki.AGENT);
        SslContext tls = GrpcSslContexts.forClient()
                .keyManager(agent.key(), agent.chain().toArray(new X509Certificate[0]))
                .trustManager(pki.ca().certificate())
                .build();
        managed = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.port())
                .sslContext(tls)
                .maxInboundMessageSize(2 * LARGE)
                .directExecutor()
                .build();
        channel = ClientInterceptors.intercept(managed,
                MetadataUtils.newAttachHeadersInterceptor(task(Sidecar.taskForEverything(sidecar, TestPki.AGENT))));
        // Connect agent -> sidecar -> server once, so the deadline case measures a call and not TLS set-up.
        blocking().unaryRpc(request("warm-up"));
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (managed != null) {
            managed.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (sidecar != null) {
            sidecar.close();
        }
        if (server != null && !server.shutdown().awaitTermination(5, TimeUnit.SECONDS)) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void unaryReturnsTheRequestedSizeWithTheServersHeadersAndTrailers() {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        SimpleResponse res = blocking(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
                .unaryRpc(request("size:1000"));

        assertThat(res.getResponseMessage()).hasSize(1000).matches("x+");
        assertThat(headers.get().get(RESPONSE_HEADER)).isEqualTo("from-server");
        assertThat(headers.get().get(ascii("content-type"))).startsWith("application/grpc");
        assertThat(trailers.get().get(RESPONSE_TRAILER)).isEqualTo("from-server");
    }

    @Test
    void serverStreamingDeliversEveryMessageInOrder() {
        Iterator<SimpleResponse> it = blocking().serverStreamingRpc(request("3,1,4,1,5,9,2,6"));
        List<String> got = new ArrayList<>();
        it.forEachRemaining(r -> got.add(r.getResponseMessage()));

        assertThat(got).containsExactly("0:xxx", "1:x", "2:xxxx", "3:x", "4:xxxxx", "5:xxxxxxxxx", "6:xx",
                "7:xxxxxx");
    }

    @Test
    void clientStreamingAggregatesEveryMessage() throws Exception {
        Collector<SimpleResponse> answer = new Collector<>();
        StreamObserver<SimpleRequest> up = async().clientStreamingRpc(answer);
        long bytes = 0;
        for (int i = 1; i <= 25; i++) {
            String m = "m".repeat(i * 100);
            bytes += m.length();
            up.onNext(request(m));
        }
        up.onCompleted();

        assertThat(answer.awaitDone()).isEqualTo(Status.OK);
        assertThat(answer.messages).extracting(SimpleResponse::getResponseMessage)
                .containsExactly("count=25 bytes=" + bytes);
    }

    @Test
    void bidiEchoesEachMessageBeforeTheNextIsSent() throws Exception {
        Collector<SimpleResponse> down = new Collector<>();
        StreamObserver<SimpleRequest> up = async().bidiStreamingRpc(down);
        for (int i = 0; i < 10; i++) {
            up.onNext(request("ping-" + i));
            // The reply must come while the request stream is still open: nothing is buffered until half-close.
            SimpleResponse r = down.messages.poll(5, TimeUnit.SECONDS);
            assertThat(r).as("echo %d", i).isNotNull();
            assertThat(r.getResponseMessage()).isEqualTo("echo:ping-" + i);
        }
        up.onCompleted();

        assertThat(down.awaitDone()).isEqualTo(Status.OK);
        assertThat(down.messages).isEmpty();
    }

    @Test
    void serverErrorArrivesWithItsDescriptionAndTrailers() {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        StatusRuntimeException e = failure(() -> blocking(
                MetadataUtils.newCaptureMetadataInterceptor(headers, trailers)).unaryRpc(request("fail:field-7")));

        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(e.getStatus().getDescription()).isEqualTo("cannot serve field-7: 50% ü");
        assertThat(e.getTrailers().get(ScriptedSimpleService.ERROR_DETAIL)).isEqualTo("field-7");
        assertThat(e.getTrailers().get(RESPONSE_TRAILER)).isEqualTo("from-server");
        assertThat(trailers.get().get(ScriptedSimpleService.ERROR_DETAIL)).isEqualTo("field-7");
        // The server answered trailers-only (one HEADERS frame ending the stream); it must stay that way.
        assertThat(headers.get()).as("separate response headers").isNull();
    }

    @Test
    void methodTheServerDoesNotHaveIsUnimplemented() {
        MethodDescriptor<SimpleRequest, SimpleResponse> missing = SimpleServiceGrpc.getUnaryRpcMethod().toBuilder()
                .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "UnimplementedRpc"))
                .build();
        StatusRuntimeException e = failure(() -> ClientCalls.blockingUnaryCall(channel, missing,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), request("x")));

        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
        assertThat(e.getStatus().getDescription()).contains(SERVICE + "/UnimplementedRpc");
    }

    @Test
    void largeMessagesPassBothWays() {
        String payload = randomLetters(LARGE);

        SimpleResponse res = blocking().unaryRpc(request(payload));

        assertThat(res.getResponseMessage().length()).isEqualTo(LARGE);
        assertThat(res.getResponseMessage()).isEqualTo(payload);
    }

    @Test
    void deadlineExceededAtTheClientCancelsTheCallUpstream() throws Exception {
        String id = "deadline-" + IDS.incrementAndGet();
        CountDownLatch started = service.started(id);
        CountDownLatch cancelled = service.cancelled(id);
        Collector<SimpleResponse> answer = new Collector<>();

        SimpleServiceGrpc.newStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
                .unaryRpc(request("slow:" + id), answer);

        assertThat(started.await(5, TimeUnit.SECONDS)).as("the slow call reached the server").isTrue();
        assertThat(answer.awaitDone().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(answer.messages).isEmpty();
        assertThat(cancelled.await(5, TimeUnit.SECONDS)).as("server-side Context cancelled").isTrue();
    }

    @Test
    void clientCancellationWithoutDeadlineReachesTheServer() throws Exception {
        // No deadline, so the server has no timer of its own: only the sidecar passing the RST_STREAM on can
        // cancel the call upstream.
        String id = "cancel-" + IDS.incrementAndGet();
        CountDownLatch started = service.started(id);
        CountDownLatch cancelled = service.cancelled(id);
        Collector<SimpleResponse> answer = new Collector<>();
        ClientCall<SimpleRequest, SimpleResponse> call =
                channel.newCall(SimpleServiceGrpc.getUnaryRpcMethod(), CallOptions.DEFAULT);
        ClientCalls.asyncUnaryCall(call, request("slow:" + id), answer);
        assertThat(started.await(5, TimeUnit.SECONDS)).as("the slow call reached the server").isTrue();

        call.cancel("agent gave up", null);

        assertThat(answer.awaitDone().getCode()).isEqualTo(Status.Code.CANCELLED);
        assertThat(cancelled.await(5, TimeUnit.SECONDS)).as("server-side Context cancelled").isTrue();
    }

    @Test
    void timeoutAndCustomMetadataReachTheServerButTheAgentsCredentialsDoNot() {
        String id = "meta-" + IDS.incrementAndGet();
        Metadata extra = new Metadata();
        extra.put(CASE, id);
        extra.put(CUSTOM, "hello from the agent");
        extra.put(CUSTOM_BIN, new byte[] {0, 1, 2, (byte) 0xff});
        extra.put(AUTHORIZATION, "Bearer agent-secret");

        blocking(MetadataUtils.newAttachHeadersInterceptor(extra)).withDeadlineAfter(20, TimeUnit.SECONDS)
                .unaryRpc(request("hi"));

        Seen s = seen.get(id);
        assertThat(s).as("the call reached the server").isNotNull();
        assertThat(s.headers().get(CUSTOM)).isEqualTo("hello from the agent");
        assertThat(s.headers().get(CUSTOM_BIN)).containsExactly(0, 1, 2, 0xff);
        assertThat(s.headers().get(TIMEOUT)).as("grpc-timeout").matches("\\d{1,8}[HMSmun]");
        assertThat(s.deadline()).as("server-side deadline from grpc-timeout").isNotNull();
        assertThat(s.deadline().timeRemaining(TimeUnit.SECONDS)).isBetween(1L, 20L);
        assertThat(s.headers().get(AUTHORIZATION)).isNull();
    }

    @Test
    void aDenialIsAGrpcStatusTheClientCanRead() throws Exception {
        StatusRuntimeException noTask = failure(() -> SimpleServiceGrpc.newBlockingStub(managed)
                .withDeadlineAfter(10, TimeUnit.SECONDS).unaryRpc(request("size:1")));
        assertThat(noTask.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(noTask.getStatus().getDescription()).startsWith("DENY_NO_TASK: ");

        // A task that may call the unary method only.
        String token = sidecar.tasks().start(TestPki.AGENT, new StartRequest(null, "unary only", null, List.of(
                new GrantRequest("simple", List.of("grpc:" + SERVICE + "/UnaryRpc"), null, null, null)))).token();
        io.grpc.Channel unaryOnly = ClientInterceptors.intercept(managed,
                MetadataUtils.newAttachHeadersInterceptor(task(token)));
        assertThat(SimpleServiceGrpc.newBlockingStub(unaryOnly).withDeadlineAfter(10, TimeUnit.SECONDS)
                .unaryRpc(request("size:3")).getResponseMessage()).hasSize(3);
        Collector<SimpleResponse> answer = new Collector<>();
        SimpleServiceGrpc.newStub(unaryOnly).withDeadlineAfter(10, TimeUnit.SECONDS)
                .serverStreamingRpc(request("x"), answer);
        Status denied = answer.awaitDone();
        assertThat(denied.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(denied.getDescription()).startsWith("DENY_NO_GRANT: ").contains("ServerStreamingRpc");
    }

    private static Metadata task(String token) {
        Metadata md = new Metadata();
        md.put(ascii("toolgate-task"), token);
        return md;
    }

    @Test
    void clientWithoutACertificateCannotConnect() throws Exception {
        SslContext noCert = GrpcSslContexts.forClient().trustManager(pki.ca().certificate()).build();
        ManagedChannel anonymous = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.port())
                .sslContext(noCert).directExecutor().build();
        try {
            StatusRuntimeException e = failure(() -> SimpleServiceGrpc.newBlockingStub(anonymous)
                    .withDeadlineAfter(10, TimeUnit.SECONDS).unaryRpc(request("size:1")));

            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        } finally {
            anonymous.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------

    private static SimpleServiceGrpc.SimpleServiceBlockingStub blocking(io.grpc.ClientInterceptor... interceptors) {
        return SimpleServiceGrpc.newBlockingStub(ClientInterceptors.intercept(channel, interceptors))
                .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private static SimpleServiceGrpc.SimpleServiceStub async() {
        return SimpleServiceGrpc.newStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private static StatusRuntimeException failure(ThrowingCallable call) {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call);
        assertThat(e).as("the call failed with a status").isNotNull();
        return e;
    }

    private static SimpleRequest request(String message) {
        return SimpleRequest.newBuilder().setRequestMessage(message).build();
    }

    private static Metadata.Key<String> ascii(String name) {
        return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
    }

    private static String randomLetters(int n) {
        Random random = new Random(42);
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('a' + random.nextInt(26));
        }
        return new String(b, StandardCharsets.US_ASCII);
    }

    /** Collects a call's messages and its final status. */
    private static final class Collector<T> implements StreamObserver<T> {
        final BlockingQueue<T> messages = new LinkedBlockingQueue<>();
        private final CountDownLatch done = new CountDownLatch(1);
        private volatile Status status;

        @Override
        public void onNext(T value) {
            messages.add(value);
        }

        @Override
        public void onError(Throwable t) {
            status = Status.fromThrowable(t);
            done.countDown();
        }

        @Override
        public void onCompleted() {
            status = Status.OK;
            done.countDown();
        }

        Status awaitDone() throws InterruptedException {
            assertThat(done.await(10, TimeUnit.SECONDS)).as("call finished").isTrue();
            return status;
        }
    }

    /**
     * Records each call's request headers and server-side deadline, and adds {@code x-test-header} to the
     * response headers and {@code x-test-trailer} to the trailers of every call.
     */
    private static final class RecordingInterceptor implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                          ServerCallHandler<Q, R> next) {
            String id = headers.get(CASE);
            if (id != null) {
                seen.put(id, new Seen(headers, Context.current().getDeadline()));
            }
            return next.startCall(new SimpleForwardingServerCall<>(call) {
                @Override
                public void sendHeaders(Metadata responseHeaders) {
                    responseHeaders.put(RESPONSE_HEADER, "from-server");
                    super.sendHeaders(responseHeaders);
                }

                @Override
                public void close(Status status, Metadata trailers) {
                    trailers.put(RESPONSE_TRAILER, "from-server");
                    super.close(status, trailers);
                }
            }, headers);
        }
    }
}
