package dev.toolgate.authz;

import static java.util.Objects.requireNonNull;

import dev.toolgate.grant.Grant;
import dev.toolgate.grant.LiveTask;

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

    /**
     * The call may be forwarded, under {@code grant} of {@code task}; {@code housekeeping} when it is MCP protocol
     * housekeeping allowed because the task holds {@code grant} on the route (no budget spent).
     */
    record Allow(LiveTask task, Grant grant, boolean housekeeping) implements Decision {
        public Allow {
            requireNonNull(task, "task");
            requireNonNull(grant, "grant");
        }

        public Allow(LiveTask task, Grant grant) {
            this(task, grant, false);
        }

        @Override
        public DecisionCode code() {
            return DecisionCode.ALLOW;
        }

        @Override
        public String reason() {
            return (housekeeping ? "MCP housekeeping, task holds " : "granted by ") + grant.id() + " of task "
                    + task.task().id();
        }
    }

    /** The call is refused. */
    record Deny(DecisionCode code, String reason, LiveTask task) implements Decision {
        public Deny {
            requireNonNull(code, "code");
            requireNonNull(reason, "reason");
            if (code == DecisionCode.ALLOW) {
                throw new IllegalArgumentException("a denial cannot carry ALLOW");
            }
        }
    }
}
