package dev.toolgate.fleet;

import dev.toolgate.config.EtcdConfig;
import dev.toolgate.fleet.etcd.api.KVGrpc;
import dev.toolgate.fleet.etcd.api.LeaseGrpc;
import dev.toolgate.fleet.etcd.api.WatchGrpc;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * One gRPC channel to an etcd cluster and the stubs over it (grpc-java stubs generated from etcd's own API protos,
 * {@code src/main/proto/etcd}): plaintext or TLS with PEM files, every member an address of the channel. Each unary
 * call gets the configured request timeout as its deadline. Thread-safe.
 */
final class EtcdClient implements AutoCloseable {
    private final ManagedChannel channel;
    private final Duration requestTimeout;
    private final Duration dialTimeout;
    private final String name;
    private final KVGrpc.KVBlockingStub kv;
    private final LeaseGrpc.LeaseBlockingStub lease;
    private final WatchGrpc.WatchStub watch;

    private EtcdClient(ManagedChannel channel, EtcdConfig config) {
        this.channel = channel;
        this.requestTimeout = config.requestTimeout();
        this.dialTimeout = config.dialTimeout();
        this.name = "etcd " + String.join(",", config.endpoints());
        this.kv = KVGrpc.newBlockingStub(channel);
        this.lease = LeaseGrpc.newBlockingStub(channel);
        this.watch = WatchGrpc.newStub(channel);
    }

    /**
     * A client for the cluster {@code config} names; nothing is connected yet.
     *
     * @throws IOException if the TLS files cannot be read
     */
    @SuppressWarnings("deprecation") // nameResolverFactory: the way to give one channel its own resolver
    static EtcdClient open(EtcdConfig config) throws IOException {
        EtcdEndpoints endpoints = new EtcdEndpoints(config.endpointUris());
        NameResolverRegistry registry = new NameResolverRegistry();
        registry.register(endpoints);
        NettyChannelBuilder b = NettyChannelBuilder.forTarget(endpoints.target())
                .nameResolverFactory(registry.asFactory())
                .defaultLoadBalancingPolicy("pick_first")
                .maxInboundMessageSize(64 * 1024 * 1024)
                // A member that stopped answering (not only one that closed the connection) is noticed and left.
                .keepAliveTime(10, TimeUnit.SECONDS)
                .keepAliveTimeout(3, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true);
        if (config.tls() == null) {
            b.usePlaintext();
        } else {
            b.sslContext(sslContext(config.tls()));
        }
        return new EtcdClient(b.build(), config);
    }

    private static io.netty.handler.ssl.SslContext sslContext(EtcdConfig.Tls tls) throws IOException {
        try {
            SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(tls.ca().toFile());
            if (tls.certificate() != null) {
                ssl.keyManager(tls.certificate().toFile(), tls.key().toFile());
            }
            return ssl.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IOException("etcd.tls: cannot use " + tls.ca() + (tls.certificate() == null ? ""
                    : ", " + tls.certificate() + ", " + tls.key()) + ": " + e.getMessage(), e);
        }
    }

    /** Names the cluster in messages: {@code etcd} and its endpoints. */
    String name() {
        return name;
    }

    KVGrpc.KVBlockingStub kv() {
        return kv.withDeadlineAfter(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Runs {@code call} (the first after opening) again while no member can be reached, until the dial timeout has
     * passed; then throws the last failure, whose cause says why (refused, TLS handshake, ...).
     */
    <T> T dialing(java.util.function.Supplier<T> call) throws InterruptedException {
        long deadline = System.nanoTime() + dialTimeout.toNanos();
        while (true) {
            try {
                return call.get();
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            Thread.sleep(100);
            reconnectNow();
        }
    }

    LeaseGrpc.LeaseBlockingStub lease() {
        return lease.withDeadlineAfter(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    WatchGrpc.WatchStub watch() {
        return watch;
    }

    /** Lets the next call try to connect at once instead of after the channel's reconnect back-off. */
    void reconnectNow() {
        channel.resetConnectBackoff();
    }

    /** {@code what} failed with {@code e}, as the IOException the store reports. */
    IOException failure(String what, StatusRuntimeException e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return new IOException(name + ": " + what + ": " + e.getStatus().getCode()
                + (e.getStatus().getDescription() == null ? "" : " (" + e.getStatus().getDescription() + ")")
                + (root == e || root.getMessage() == null ? "" : ": " + root.getMessage()), e);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
