package dev.toolgate.control;

import com.google.protobuf.Timestamp;
import dev.toolgate.api.v1.GrantState;
import dev.toolgate.api.v1.RequestedGrant;
import dev.toolgate.api.v1.TaskState;
import dev.toolgate.grant.Grant;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.LiveGrant;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskException;
import dev.toolgate.identity.SpiffeId;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between the {@code toolgate.v1} task messages and the task registry's model. Only shape and syntax are
 * checked here (a SPIFFE ID that does not parse, a malformed duration); what may be granted is the registry's call.
 * Stateless.
 */
final class TaskMessages {
    private TaskMessages() {}

    static StartRequest startRequest(String agent, String purpose, boolean hasTtl, com.google.protobuf.Duration ttl,
                                     List<RequestedGrant> grants) throws TaskException {
        List<GrantRequest> out = new ArrayList<>(grants.size());
        for (int i = 0; i < grants.size(); i++) {
            RequestedGrant g = grants.get(i);
            String where = "grants[" + i + "]";
            out.add(new GrantRequest(g.getRoute().isEmpty() ? null : g.getRoute(), g.getOperationsList(),
                    g.getWhen().isEmpty() ? null : g.getWhen(), g.hasBudget() ? g.getBudget() : null,
                    g.hasTtl() ? duration(where + ".ttl", g.getTtl()) : null));
        }
        return new StartRequest(agent.isEmpty() ? null : spiffeId("agent", agent), purpose,
                hasTtl ? duration("ttl", ttl) : null, out);
    }

    static SpiffeId spiffeId(String field, String text) throws TaskException {
        try {
            return SpiffeId.parse(text);
        } catch (IllegalArgumentException e) {
            throw invalid(field + ": " + e.getMessage());
        }
    }

    static String required(String field, String value, String expected) throws TaskException {
        if (value.isEmpty()) {
            throw invalid(field + ": missing (expected: " + expected + ")");
        }
        return value;
    }

    static dev.toolgate.grant.TaskState state(TaskState s) throws TaskException {
        return switch (s) {
            case TASK_STATE_UNSPECIFIED -> null;
            case TASK_STATE_ACTIVE -> dev.toolgate.grant.TaskState.ACTIVE;
            case TASK_STATE_ENDED -> dev.toolgate.grant.TaskState.ENDED;
            case TASK_STATE_REVOKED -> dev.toolgate.grant.TaskState.REVOKED;
            case TASK_STATE_EXPIRED -> dev.toolgate.grant.TaskState.EXPIRED;
            case UNRECOGNIZED -> throw invalid("state: unknown value (expected: TASK_STATE_ACTIVE, _ENDED, _REVOKED"
                    + " or _EXPIRED)");
        };
    }

    private static TaskState state(dev.toolgate.grant.TaskState s) {
        return switch (s) {
            case ACTIVE -> TaskState.TASK_STATE_ACTIVE;
            case ENDED -> TaskState.TASK_STATE_ENDED;
            case REVOKED -> TaskState.TASK_STATE_REVOKED;
            case EXPIRED -> TaskState.TASK_STATE_EXPIRED;
        };
    }

    /** The task as it stands at {@code nowMillis}. */
    static dev.toolgate.api.v1.Task task(LiveTask live, long nowMillis) {
        dev.toolgate.grant.Task t = live.task();
        dev.toolgate.api.v1.Task.Builder b = dev.toolgate.api.v1.Task.newBuilder()
                .setTaskId(t.id())
                .setAgent(t.subject().uri())
                .setStartedBy(t.startedBy().uri())
                .setPurpose(t.purpose())
                .setState(state(live.state(nowMillis)))
                .setCreatedAt(timestamp(t.createdAt()))
                .setExpiresAt(timestamp(t.expiresAt()));
        if (t.parentId() != null) {
            b.setParentTaskId(t.parentId());
        }
        for (Grant g : t.grants()) {
            LiveGrant lg = live.grant(g.id());
            dev.toolgate.api.v1.Grant.Builder gb = dev.toolgate.api.v1.Grant.newBuilder()
                    .setGrantId(g.id())
                    .setRoute(g.route())
                    .setExpiresAt(timestamp(g.expiresAt()))
                    .setState(lg.revoked() ? GrantState.GRANT_STATE_REVOKED
                            : lg.expired(nowMillis) ? GrantState.GRANT_STATE_EXPIRED : GrantState.GRANT_STATE_ACTIVE);
            g.operations().forEach(op -> gb.addOperations(op.toString()));
            if (g.condition() != null) {
                gb.setWhen(g.condition());
            }
            if (g.budget() != null) {
                gb.setBudget(g.budget()).setRemaining(lg.remaining());
            }
            b.addGrants(gb);
        }
        return b.build();
    }

    static Timestamp timestamp(Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }

    private static Duration duration(String field, com.google.protobuf.Duration d) throws TaskException {
        // protobuf's rules: seconds and nanos of the same sign, nanos within one second.
        if (Math.abs(d.getNanos()) > 999_999_999 || d.getSeconds() > 0 && d.getNanos() < 0
                || d.getSeconds() < 0 && d.getNanos() > 0) {
            throw invalid(field + ": not a valid google.protobuf.Duration (seconds " + d.getSeconds() + ", nanos "
                    + d.getNanos() + ")");
        }
        return Duration.ofSeconds(d.getSeconds(), d.getNanos());
    }

    private static TaskException invalid(String message) {
        return new TaskException(TaskException.Kind.INVALID_ARGUMENT, message);
    }
}
