package dev.toolgate.grant;

import static java.util.Objects.requireNonNull;

import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpiffeIdPattern;
import java.util.List;
import java.util.function.Function;

/**
 * Who may manage which task. An agent starts tasks for itself; an orchestrator may also start them for others.
 * A task may be seen, ended and revoked by its subject, by whoever started it, by the subject or starter of any task
 * it was delegated from, and by an admin (who may manage every task). Immutable and thread-safe.
 */
final class TaskAccess {
    private final List<SpiffeIdPattern> orchestrators;
    private final List<SpiffeIdPattern> admins;

    /**
     * @param orchestrators who may start tasks for other agents
     * @param admins        who may see, end and revoke every task
     */
    TaskAccess(List<SpiffeIdPattern> orchestrators, List<SpiffeIdPattern> admins) {
        this.orchestrators = List.copyOf(requireNonNull(orchestrators, "orchestrators"));
        this.admins = List.copyOf(requireNonNull(admins, "admins"));
    }

    /** Whether {@code caller} may start a task whose subject is {@code subject}. */
    boolean mayStartFor(SpiffeId caller, SpiffeId subject) {
        return subject.equals(caller) || matchesAny(orchestrators, caller);
    }

    /**
     * Whether {@code caller} may see, end or revoke {@code task}.
     *
     * @param parents finds a task by id (null when it is no longer held), to walk up the delegation chain
     */
    boolean mayManage(SpiffeId caller, LiveTask task, Function<String, LiveTask> parents) {
        if (matchesAny(admins, caller)) {
            return true;
        }
        for (LiveTask cur = task; cur != null; cur = cur.task().parentId() == null ? null
                : parents.apply(cur.task().parentId())) {
            if (cur.task().subject().equals(caller) || cur.task().startedBy().equals(caller)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matchesAny(List<SpiffeIdPattern> patterns, SpiffeId id) {
        for (SpiffeIdPattern p : patterns) {
            if (p.matches(id)) {
                return true;
            }
        }
        return false;
    }
}
