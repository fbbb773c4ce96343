package dev.toolgate.authz;

import static java.util.Objects.requireNonNull;

import dev.toolgate.common.DecisionCode;
import dev.toolgate.grant.Grant;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.policy.Verdict;
import java.time.Duration;

/**
 * What the {@link Authorizer} decided about one call. Both kinds carry the task the call presented (when its
 * token was known), so the audit record can say which task and purpose the call was made for.
 */
public sealed interface Decision {

    DecisionCode code();

    /** Why, in words an agent (and its operator) can act on. Never contains a token. */
    String reason();

    /** The task whose token the call carried, or null when there was none or it was unknown. */
    LiveTask task();

    /** The policy rule that decided, with the policy version ({@code doc/rule@version}), or null. */
    default String policy() {
        return null;
    }

    /**
     * The approval the call waits for, used, or was refused by ({@code apr_...}), or null when its rule needs none.
     * Shown to the agent in the denial ({@code approval_id}) and written to the decision record.
     */
    default String approvalId() {
        return null;
    }

    /**
     * The call may be forwarded, under {@code grant} of {@code task}; {@code housekeeping} when it is MCP protocol
     * housekeeping allowed because the task holds {@code grant} on the route (no budget spent); {@code wouldDeny}
     * when a shadow-mode policy would have denied it (audited as {@code would_deny}, forwarded all the same);
     * {@code approvalId} when its rule needs approval and this call was covered by that approval.
     */
    record Allow(LiveTask task, Grant grant, boolean housekeeping, String policy, Verdict wouldDeny,
                 String approvalId) implements Decision {
        public Allow {
            requireNonNull(task, "task");
            requireNonNull(grant, "grant");
            if (wouldDeny != null && !wouldDeny.shadow()) {
                throw new IllegalArgumentException("wouldDeny: only a shadow-mode denial lets a call through");
            }
        }

        public Allow(LiveTask task, Grant grant) {
            this(task, grant, false, null, null, null);
        }

        public Allow(LiveTask task, Grant grant, boolean housekeeping) {
            this(task, grant, housekeeping, null, null, null);
        }

        public Allow(LiveTask task, Grant grant, boolean housekeeping, String policy, Verdict wouldDeny) {
            this(task, grant, housekeeping, policy, wouldDeny, null);
        }

        @Override
        public DecisionCode code() {
            return DecisionCode.ALLOW;
        }

        @Override
        public String reason() {
            return (housekeeping ? "MCP housekeeping, task holds " : "granted by ") + grant.id() + " of task "
                    + task.task().id() + (approvalId == null ? "" : ", approved by " + approvalId);
        }
    }

    /**
     * The call is refused; {@code policy} names the rule when a policy refused it; {@code approvalId} the approval it
     * waits for ({@code PENDING_APPROVAL}) or that a person denied, else null; {@code retryAfter} is set when the
     * same call will pass again after that wait (a rate limit: answered 429 with {@code Retry-After}), else null.
     */
    record Deny(DecisionCode code, String reason, LiveTask task, String policy, String approvalId,
                Duration retryAfter)
            implements Decision {
        public Deny {
            requireNonNull(code, "code");
            requireNonNull(reason, "reason");
            if (code == DecisionCode.ALLOW) {
                throw new IllegalArgumentException("a denial cannot carry ALLOW");
            }
            if (retryAfter != null && (retryAfter.isNegative() || retryAfter.isZero())) {
                throw new IllegalArgumentException("retryAfter: " + retryAfter + " (expected: > 0 or null)");
            }
        }

        public Deny(DecisionCode code, String reason, LiveTask task, String policy) {
            this(code, reason, task, policy, null, null);
        }

        public Deny(DecisionCode code, String reason, LiveTask task) {
            this(code, reason, task, null, null, null);
        }

        /** A denial about an approval (waiting for one, or one a person denied). */
        public Deny(DecisionCode code, String reason, LiveTask task, String policy, String approvalId) {
            this(code, reason, task, policy, approvalId, null);
        }

        /** The wait in whole seconds, rounded up, as {@code Retry-After} says it; 0 when there is none. */
        public long retryAfterSeconds() {
            if (retryAfter == null) {
                return 0;
            }
            long s = retryAfter.toSeconds();
            return retryAfter.equals(Duration.ofSeconds(s)) ? s : s + 1;
        }
    }
}
