package dev.toolgate.control;

import dev.toolgate.api.v1.AuditRecord;
import dev.toolgate.api.v1.AuditServiceGrpc;
import dev.toolgate.api.v1.TailRequest;
import dev.toolgate.api.v1.TailResponse;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A Tail call from a test: collects what arrives. {@code manual} reads nothing until {@link #request} (a subscriber
 * that stopped reading: the server's stream stops being ready once the HTTP/2 window is full).
 */
final class TailClient implements ClientResponseObserver<TailRequest, TailResponse> {
    final BlockingQueue<TailResponse> items = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> done = new CompletableFuture<>();
    private final boolean manual;
    private volatile ClientCallStreamObserver<TailRequest> call;

    private TailClient(boolean manual) {
        this.manual = manual;
    }

    static TailClient open(AuditServiceGrpc.AuditServiceStub stub, TailRequest req) {
        TailClient c = new TailClient(false);
        stub.tail(req, c);
        return c;
    }

    static TailClient openNotReading(AuditServiceGrpc.AuditServiceStub stub, TailRequest req) {
        TailClient c = new TailClient(true);
        stub.tail(req, c);
        return c;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<TailRequest> requestStream) {
        call = requestStream;
        if (manual) {
            requestStream.disableAutoRequestWithInitial(0);
        }
    }

    void request(int n) {
        call.request(n);
    }

    void cancel() {
        call.cancel("test is done", null);
    }

    @Override
    public void onNext(TailResponse value) {
        items.add(value);
    }

    @Override
    public void onError(Throwable t) {
        done.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
        done.complete(Status.OK);
    }

    /** The next {@code n} items, failing if they do not all come within {@code timeout}. */
    List<TailResponse> take(int n, Duration timeout) throws InterruptedException {
        List<TailResponse> out = new ArrayList<>(n);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (out.size() < n) {
            TailResponse r = items.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (r == null) {
                throw new AssertionError("got " + out.size() + " of " + n + " tail items in " + timeout + ": "
                        + out + (done.isDone() ? " (call ended: " + done.join() + ")" : ""));
            }
            out.add(r);
        }
        return out;
    }

    /** The records of the next {@code n} items (which must all be records). */
    List<AuditRecord> records(int n) throws InterruptedException {
        List<AuditRecord> out = new ArrayList<>(n);
        for (TailResponse r : take(n, Duration.ofSeconds(10))) {
            if (!r.hasRecord()) {
                throw new AssertionError("expected a record, got " + r);
            }
            out.add(r.getRecord());
        }
        return out;
    }

    /** The status the call ended with. */
    Status status() throws Exception {
        return done.get(10, TimeUnit.SECONDS);
    }
}
