package dev.toolgate.bench;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC scenario's upstream: grpc-java (Netty, plaintext HTTP/2) serving {@code grpc.testing.SimpleService}
 * whose unary call answers a fixed {@code responseBytes} message. Thread-safe.
 */
public final class GrpcUpstream implements AutoCloseable {
    private final Server server;

    private GrpcUpstream(Server server) {
        this.server = server;
    }

    /**
     * Starts on 127.0.0.1:{@code port} (0: any free port); calls run on the transport threads.
     *
     * @throws IOException if the port cannot be bound
     */
    public static GrpcUpstream start(int port, int responseBytes) throws IOException {
        SimpleResponse answer = SimpleResponse.newBuilder().setResponseMessage("u".repeat(responseBytes)).build();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .directExecutor()
                .addService(new SimpleServiceGrpc.SimpleServiceImplBase() {
                    @Override
                    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
                        out.onNext(answer);
                        out.onCompleted();
                    }
                })
                .build()
                .start();
        return new GrpcUpstream(server);
    }

    public int port() {
        return server.getPort();
    }

    /** Stops, giving calls in flight up to two seconds. */
    @Override
    public void close() throws InterruptedException {
        server.shutdown();
        if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
            server.shutdownNow();
        }
    }
}
