package dev.toolgate.audit;

import java.time.Instant;

/**
 * The records callers gave up on since the last {@code gap} record: how many of each phase, and when the first and
 * the last were made. Producers add from any thread; the writer takes the sum when it writes the gap record.
 * Thread-safe.
 */
final class Gaps {
    /** What was refused since the last gap record. */
    record Sum(long decisions, long outcomes, long tasks, Instant first, Instant last) {
        long count() {
            return decisions + outcomes + tasks;
        }

        /** The gap record's reason: what the loss means for an auditor. */
        String reason() {
            return count() + " audit records could not be written (trail full past audit.maxWait, or its sink"
                    + " failing): " + decisions + " calls denied ERROR_FAIL_CLOSED (no decision record), "
                    + tasks + " task requests refused, " + outcomes + " forwarded calls without an outcome record";
        }
    }

    private long decisions;
    private long outcomes;
    private long tasks;
    private Instant first;
    private Instant last;

    synchronized void add(AuditRecord record) {
        switch (record.phase()) {
            case DECISION, GAP -> decisions++;
            case OUTCOME -> outcomes++;
            case TASK -> tasks++;
        }
        if (first == null || record.ts().isBefore(first)) {
            first = record.ts();
        }
        if (last == null || record.ts().isAfter(last)) {
            last = record.ts();
        }
    }

    synchronized boolean pending() {
        return first != null;
    }

    /** The sum since the last call, or null if nothing was refused; starts a new sum. */
    synchronized Sum take() {
        if (first == null) {
            return null;
        }
        Sum s = new Sum(decisions, outcomes, tasks, first, last);
        decisions = 0;
        outcomes = 0;
        tasks = 0;
        first = null;
        last = null;
        return s;
    }
}
