package dev.toolgate.control;

import dev.toolgate.api.v1.DelegateTaskRequest;
import dev.toolgate.api.v1.DelegateTaskResponse;
import dev.toolgate.api.v1.EndTaskRequest;
import dev.toolgate.api.v1.GetTaskRequest;
import dev.toolgate.api.v1.ListTasksRequest;
import dev.toolgate.api.v1.ListTasksResponse;
import dev.toolgate.api.v1.RevokeGrantRequest;
import dev.toolgate.api.v1.RevokeTaskRequest;
import dev.toolgate.api.v1.StartTaskRequest;
import dev.toolgate.api.v1.StartTaskResponse;
import dev.toolgate.api.v1.Task;
import dev.toolgate.api.v1.TaskServiceGrpc;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.grant.TaskException;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.identity.SpiffeId;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code toolgate.v1.TaskService} over the sidecar's {@link TaskRegistry}: each RPC converts its request, calls the
 * registry as the authenticated caller and converts the answer; who may do what is the registry's rule, the same
 * for the data plane's JSON endpoints. A {@link TaskException} becomes the status of its kind with its message;
 * anything else is {@code INTERNAL} (logged) and never a partial answer. Requests are never logged (a
 * DelegateTask carries a token). Runs on gRPC's executor, never an event loop: the registry may wait for the
 * journal's fsync. Thread-safe.
 */
final class TaskServiceImpl extends TaskServiceGrpc.TaskServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(TaskServiceImpl.class);

    private final TaskRegistry tasks;

    TaskServiceImpl(TaskRegistry tasks) {
        this.tasks = tasks;
    }

    @Override
    public void startTask(StartTaskRequest req, StreamObserver<StartTaskResponse> out) {
        answer("StartTask", out, caller -> {
            TaskRegistry.Started s = tasks.start(caller, TaskMessages.startRequest(req.getAgent(), req.getPurpose(),
                    req.hasTtl(), req.getTtl(), req.getGrantsList()));
            return StartTaskResponse.newBuilder().setTask(task(s.task())).setToken(s.token()).build();
        });
    }

    @Override
    public void delegateTask(DelegateTaskRequest req, StreamObserver<DelegateTaskResponse> out) {
        answer("DelegateTask", out, caller -> {
            String parent = TaskMessages.required("parent_token", req.getParentToken(), "the parent task's token");
            TaskMessages.required("agent", req.getAgent(), "the SPIFFE ID of the agent the task is delegated to");
            TaskRegistry.Started s = tasks.delegate(caller, parent, TaskMessages.startRequest(req.getAgent(),
                    req.getPurpose(), req.hasTtl(), req.getTtl(), req.getGrantsList()));
            return DelegateTaskResponse.newBuilder().setTask(task(s.task())).setToken(s.token()).build();
        });
    }

    @Override
    public void endTask(EndTaskRequest req, StreamObserver<Task> out) {
        answer("EndTask", out, caller -> task(tasks.end(caller, taskId(req.getTaskId()), reason(req.getReason()))));
    }

    @Override
    public void revokeTask(RevokeTaskRequest req, StreamObserver<Task> out) {
        answer("RevokeTask", out,
                caller -> task(tasks.revoke(caller, taskId(req.getTaskId()), reason(req.getReason()))));
    }

    @Override
    public void revokeGrant(RevokeGrantRequest req, StreamObserver<Task> out) {
        answer("RevokeGrant", out, caller -> task(tasks.revokeGrant(caller, taskId(req.getTaskId()),
                TaskMessages.required("grant_id", req.getGrantId(), "a grant id such as g1"),
                reason(req.getReason()))));
    }

    @Override
    public void getTask(GetTaskRequest req, StreamObserver<Task> out) {
        answer("GetTask", out, caller -> task(tasks.get(caller, taskId(req.getTaskId()))));
    }

    @Override
    public void listTasks(ListTasksRequest req, StreamObserver<ListTasksResponse> out) {
        answer("ListTasks", out, caller -> {
            SpiffeId agent = req.getAgent().isEmpty() ? null : TaskMessages.spiffeId("agent", req.getAgent());
            dev.toolgate.grant.TaskState state = TaskMessages.state(req.getState());
            long now = tasks.clock().millis();
            ListTasksResponse.Builder b = ListTasksResponse.newBuilder();
            for (LiveTask t : tasks.list(caller, agent, state)) {
                b.addTasks(TaskMessages.task(t, now));
            }
            return b.build();
        });
    }

    private Task task(LiveTask t) {
        return TaskMessages.task(t, tasks.clock().millis());
    }

    private static String taskId(String id) throws TaskException {
        return TaskMessages.required("task_id", id, "a task id such as t-0123456789abcdef01234567");
    }

    private static String reason(String reason) {
        return reason.isEmpty() ? null : reason;
    }

    /** One RPC's work as the caller; its result or its refusal. */
    @FunctionalInterface
    private interface Work<T> {
        T run(SpiffeId caller) throws TaskException;
    }

    private static <T> void answer(String rpc, StreamObserver<T> out, Work<T> work) {
        T result;
        try {
            result = work.run(CallerInterceptor.caller());
        } catch (TaskException e) {
            out.onError(status(e.kind()).withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (RuntimeException e) {
            log.error("{} failed", rpc, e);
            out.onError(Status.INTERNAL.withDescription("the sidecar failed to serve " + rpc
                    + "; nothing was changed unless GetTask shows it").asRuntimeException());
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }

    static Status status(TaskException.Kind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
            case NOT_FOUND -> Status.NOT_FOUND;
            case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
            case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
        };
    }
}
