package dev.toolgate.grpc;

import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CountDownLatch;

/**
 * The upstream gRPC service behind the sidecar in {@link GrpcThroughSidecarTest}: {@code grpc.testing.SimpleService}
 * whose unary method is steered by the request message, so one service covers every case.
 *
 * <ul>
 *   <li>unary {@code size:N}: answers N bytes of {@code 'x'}; {@code fail:DETAIL}: {@code INVALID_ARGUMENT} with
 *       no message (a trailers-only response) and {@code DETAIL} in the {@code x-error-detail} trailer;
 *       {@code slow:ID}: never answers, counts down {@link #started} and, once the call's {@link Context} is
 *       cancelled, {@link #cancelled} for {@code ID}; anything else is echoed;
 *   <li>server streaming: the request is a comma-separated list of sizes; answers {@code i:} plus that many
 *       {@code 'x'} for each, in order;
 *   <li>client streaming: answers {@code count=C bytes=B} over all request messages;
 *   <li>bidi: answers each message {@code m} with {@code echo:m} as it arrives.
 * </ul>
 *
 * <p>Thread-safe: the latch maps are concurrent; everything else is per call.
 */
final class ScriptedSimpleService extends SimpleServiceGrpc.SimpleServiceImplBase {
    static final Metadata.Key<String> ERROR_DETAIL = Metadata.Key.of("x-error-detail", Metadata.ASCII_STRING_MARSHALLER);

    private final ConcurrentMap<String, CountDownLatch> started = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, CountDownLatch> cancelled = new ConcurrentHashMap<>();

    /** Counted down when the slow call {@code id} has reached the service. */
    CountDownLatch started(String id) {
        return started.computeIfAbsent(id, k -> new CountDownLatch(1));
    }

    /** Counted down when the slow call {@code id}'s server-side {@link Context} has been cancelled. */
    CountDownLatch cancelled(String id) {
        return cancelled.computeIfAbsent(id, k -> new CountDownLatch(1));
    }

    static SimpleResponse response(String message) {
        return SimpleResponse.newBuilder().setResponseMessage(message).build();
    }

    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
        String m = request.getRequestMessage();
        if (m.startsWith("size:")) {
            out.onNext(response("x".repeat(Integer.parseInt(m.substring("size:".length())))));
            out.onCompleted();
        } else if (m.startsWith("fail:")) {
            String detail = m.substring("fail:".length());
            Metadata trailers = new Metadata();
            trailers.put(ERROR_DETAIL, detail);
            out.onError(Status.INVALID_ARGUMENT.withDescription("cannot serve " + detail + ": 50% ü")
                    .asRuntimeException(trailers));
        } else if (m.startsWith("slow:")) {
            String id = m.substring("slow:".length());
            Context.current().addListener(c -> cancelled(id).countDown(), MoreExecutors.directExecutor());
            started(id).countDown();
        } else {
            out.onNext(response(m));
            out.onCompleted();
        }
    }

    @Override
    public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
        String[] sizes = request.getRequestMessage().split(",");
        for (int i = 0; i < sizes.length; i++) {
            out.onNext(response(i + ":" + "x".repeat(Integer.parseInt(sizes[i]))));
        }
        out.onCompleted();
    }

    @Override
    public StreamObserver<SimpleRequest> clientStreamingRpc(StreamObserver<SimpleResponse> out) {
        return new StreamObserver<>() {
            private int count;
            private long bytes;

            @Override
            public void onNext(SimpleRequest value) {
                count++;
                bytes += value.getRequestMessage().length();
            }

            @Override
            public void onError(Throwable t) {
                // The client went away; there is no one to answer.
            }

            @Override
            public void onCompleted() {
                out.onNext(response("count=" + count + " bytes=" + bytes));
                out.onCompleted();
            }
        };
    }

    @Override
    public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> out) {
        return new StreamObserver<>() {
            @Override
            public void onNext(SimpleRequest value) {
                out.onNext(response("echo:" + value.getRequestMessage()));
            }

            @Override
            public void onError(Throwable t) {
                // The client went away; there is no one to answer.
            }

            @Override
            public void onCompleted() {
                out.onCompleted();
            }
        };
    }
}
