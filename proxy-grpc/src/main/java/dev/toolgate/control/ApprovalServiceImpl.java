package dev.toolgate.control;

import dev.toolgate.api.v1.ApprovalServiceGrpc;
import dev.toolgate.api.v1.ApprovalState;
import dev.toolgate.api.v1.DecideRequest;
import dev.toolgate.api.v1.ListPendingRequest;
import dev.toolgate.api.v1.ListPendingResponse;
import dev.toolgate.approval.Approval;
import dev.toolgate.approval.ApprovalException;
import dev.toolgate.approval.ApprovalRequest;
import dev.toolgate.approval.Approvals;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpiffeIdPattern;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code toolgate.v1.ApprovalService} over the data plane's {@link Approvals}: only callers matching
 * {@code access.approvers} may list or decide (an empty list: nobody), and the registry refuses an agent deciding
 * its own request. An {@link ApprovalException} becomes the status of its kind with its message; anything else is
 * {@code INTERNAL} (logged). Runs on gRPC's executor (a decision waits for the audit trail). Thread-safe.
 */
final class ApprovalServiceImpl extends ApprovalServiceGrpc.ApprovalServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(ApprovalServiceImpl.class);

    private final Approvals approvals;
    private final List<SpiffeIdPattern> approvers;

    ApprovalServiceImpl(Approvals approvals, List<SpiffeIdPattern> approvers) {
        this.approvals = approvals;
        this.approvers = List.copyOf(approvers);
    }

    @Override
    public void listPending(ListPendingRequest req, StreamObserver<ListPendingResponse> out) {
        answer("ListPending", out, caller -> {
            SpiffeId agent = null;
            if (!req.getAgent().isEmpty()) {
                try {
                    agent = SpiffeId.parse(req.getAgent());
                } catch (IllegalArgumentException e) {
                    throw Status.INVALID_ARGUMENT.withDescription("agent: " + e.getMessage()).asException();
                }
            }
            ListPendingResponse.Builder b = ListPendingResponse.newBuilder();
            for (Approval a : approvals.pending(agent, req.getTaskId().isEmpty() ? null : req.getTaskId())) {
                b.addApprovals(message(a));
            }
            return b.build();
        });
    }

    @Override
    public void decide(DecideRequest req, StreamObserver<dev.toolgate.api.v1.Approval> out) {
        answer("Decide", out, caller -> {
            if (req.getApprovalId().isEmpty()) {
                throw Status.INVALID_ARGUMENT.withDescription("approval_id: missing (expected: an id ListPending"
                        + " shows, such as apr_0123456789abcdef01234567)").asException();
            }
            boolean approve = switch (req.getDecision()) {
                case APPROVAL_DECISION_APPROVE -> true;
                case APPROVAL_DECISION_DENY -> false;
                case APPROVAL_DECISION_UNSPECIFIED, UNRECOGNIZED -> throw Status.INVALID_ARGUMENT.withDescription(
                        "decision: " + req.getDecision() + " (expected: APPROVAL_DECISION_APPROVE or"
                                + " APPROVAL_DECISION_DENY)").asException();
            };
            try {
                Approval a = approvals.decide(req.getApprovalId(), approve, req.getReason(), caller);
                log.info("approval {} {} by {}", a.id(), approve ? "granted" : "denied", caller);
                return message(a);
            } catch (ApprovalException e) {
                throw status(e.kind()).withDescription(e.getMessage()).asException();
            }
        });
    }

    /** One RPC's work as an authorized approver. */
    @FunctionalInterface
    private interface Work<T> {
        T run(SpiffeId caller) throws StatusException;
    }

    private <T> void answer(String rpc, StreamObserver<T> out, Work<T> work) {
        T result;
        try {
            SpiffeId caller = CallerInterceptor.caller();
            if (approvers.stream().noneMatch(p -> p.matches(caller))) {
                throw Status.PERMISSION_DENIED.withDescription(caller.uri()
                        + " may not list or decide approvals (access.approvers)").asException();
            }
            result = work.run(caller);
        } catch (StatusException e) {
            out.onError(e);
            return;
        } catch (RuntimeException e) {
            log.error("{} failed", rpc, e);
            out.onError(Status.INTERNAL.withDescription("the sidecar failed to serve " + rpc
                    + "; nothing was changed unless ListPending shows it").asRuntimeException());
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }

    static Status status(ApprovalException.Kind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
            case NOT_FOUND -> Status.NOT_FOUND;
            case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
            case UNAVAILABLE -> Status.UNAVAILABLE;
        };
    }

    static dev.toolgate.api.v1.Approval message(Approval a) {
        ApprovalRequest r = a.request();
        dev.toolgate.api.v1.Approval.Builder b = dev.toolgate.api.v1.Approval.newBuilder()
                .setApprovalId(a.id())
                .setState(switch (a.state()) {
                    case PENDING -> ApprovalState.APPROVAL_STATE_PENDING;
                    case APPROVED -> ApprovalState.APPROVAL_STATE_APPROVED;
                    case DENIED -> ApprovalState.APPROVAL_STATE_DENIED;
                    case EXPIRED -> ApprovalState.APPROVAL_STATE_EXPIRED;
                })
                .setAgent(r.agent().uri())
                .setTaskId(r.taskId())
                .setPurpose(r.purpose())
                .setRoute(r.route())
                .setOperation(r.operation())
                .putAllArguments(r.shownArguments())
                .setCreatedAt(TaskMessages.timestamp(a.createdAt()))
                .setExpiresAt(TaskMessages.timestamp(a.expiresAt()))
                .setCallsLeft(a.callsLeft());
        if (r.argsDigest() != null) {
            b.setArgsDigest(r.argsDigest());
        }
        if (r.policy() != null) {
            b.setPolicy(r.policy());
        }
        if (a.decidedBy() != null) {
            b.setDecidedBy(a.decidedBy().uri());
        }
        if (a.reason() != null) {
            b.setReason(a.reason());
        }
        if (a.decidedAt() != null) {
            b.setDecidedAt(TaskMessages.timestamp(a.decidedAt()));
        }
        return b.build();
    }
}
