package dev.toolgate.control;

import dev.toolgate.api.v1.AuditServiceGrpc;
import dev.toolgate.api.v1.TailRequest;
import dev.toolgate.api.v1.TailResponse;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpiffeIdPattern;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code toolgate.v1.AuditService}: {@code Tail} streams the records the sidecar's audit trail writes, filtered on
 * the server, for callers matching {@code access.admins} or {@code access.auditors} only (an agent must not watch
 * other agents' calls). Thread-safe.
 */
final class AuditServiceImpl extends AuditServiceGrpc.AuditServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(AuditServiceImpl.class);

    private final TailHub hub;
    private final List<SpiffeIdPattern> tailers;

    AuditServiceImpl(TailHub hub, List<SpiffeIdPattern> tailers) {
        this.hub = hub;
        this.tailers = List.copyOf(tailers);
    }

    @Override
    public void tail(TailRequest req, StreamObserver<TailResponse> observer) {
        SpiffeId caller = CallerInterceptor.caller();
        if (tailers.stream().noneMatch(p -> p.matches(caller))) {
            observer.onError(Status.PERMISSION_DENIED.withDescription(caller.uri()
                    + " may not tail the audit trail (expected: an ID matching access.admins or access.auditors)")
                    .asRuntimeException());
            return;
        }
        TailFilter filter;
        try {
            filter = TailFilter.of(req);
        } catch (IllegalArgumentException e) {
            observer.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        if (hub.open(filter, (ServerCallStreamObserver<TailResponse>) observer) != null) {
            log.info("audit tail opened by {} ({})", caller, filter);
        }
    }
}
