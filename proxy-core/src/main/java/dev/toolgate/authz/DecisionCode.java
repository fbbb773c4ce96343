package dev.toolgate.authz;

/** The decision codes of DESIGN.md (section Decision), as they appear in denials, audit records and metrics. */
public enum DecisionCode {
    ALLOW,
    DENY_NO_IDENTITY,
    DENY_NO_TASK,
    DENY_TASK_EXPIRED,
    DENY_TASK_ENDED,
    DENY_IDENTITY_MISMATCH,
    DENY_NO_GRANT,
    DENY_CONDITION,
    DENY_BUDGET,
    DENY_POLICY,
    DENY_FLOW,
    PENDING_APPROVAL,
    DENY_MALFORMED,
    ERROR_FAIL_CLOSED
}
