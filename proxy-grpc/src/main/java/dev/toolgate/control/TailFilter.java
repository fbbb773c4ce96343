package dev.toolgate.control;

import dev.toolgate.api.v1.TailRequest;
import dev.toolgate.audit.AuditRecord;
import java.util.Set;

/**
 * Which records a tail subscriber wants: every set field must equal the record's (null: any). Evaluated on the audit
 * writer's thread, so it only compares strings. Immutable.
 */
record TailFilter(String agent, String taskId, String route, String decision, String code, String phase) {
    private static final Set<String> PHASES = Set.of("decision", "outcome", "task", "gap");

    /**
     * @throws IllegalArgumentException naming the field when {@code phase} is not one the trail writes
     */
    static TailFilter of(TailRequest req) {
        String phase = blankToNull(req.getPhase());
        if (phase != null && !PHASES.contains(phase)) {
            throw new IllegalArgumentException("phase: \"" + phase + "\" (expected: decision, outcome, task or gap)");
        }
        return new TailFilter(blankToNull(req.getAgent()), blankToNull(req.getTaskId()), blankToNull(req.getRoute()),
                blankToNull(req.getDecision()), blankToNull(req.getCode()), phase);
    }

    boolean matches(AuditRecord r) {
        return (agent == null || agent.equals(r.agent()))
                && (taskId == null || taskId.equals(r.taskId()))
                && (route == null || route.equals(r.route()))
                && (decision == null || decision.equals(r.decision()))
                && (code == null || code.equals(r.code()))
                && (phase == null || phase.equals(phaseOf(r)));
    }

    static String phaseOf(AuditRecord r) {
        return r.phaseName();
    }

    private static String blankToNull(String s) {
        return s.isEmpty() ? null : s;
    }
}
