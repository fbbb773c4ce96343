package dev.toolgate.grant;

import dev.toolgate.identity.SpiffeId;
import dev.toolgate.operation.OperationPattern;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Tasks, grants and events for journal tests, the same in the test and in the JVM it kills. */
final class JournalFixtures {
    /** A fixed start of time, with nanoseconds, so instants must survive the journal exactly. */
    static final Instant T0 = Instant.parse("2031-05-06T07:08:09.123456789Z");
    static final SpiffeId AGENT = SpiffeId.parse("spiffe://toolgate.test/ns/prod/sa/agent");
    static final SpiffeId HELPER = SpiffeId.parse("spiffe://toolgate.test/ns/prod/sa/helper");
    static final SpiffeId ORCHESTRATOR = SpiffeId.parse("spiffe://toolgate.test/ns/prod/sa/orchestrator");

    private JournalFixtures() {}

    static String taskId(int n) {
        return String.format("t-%024x", n);
    }

    /** A task started directly, with one limited and one unlimited grant, expiring {@code ttl} after T0. */
    static Task task(int n, Duration ttl) {
        Instant expires = T0.plus(ttl);
        return new Task(taskId(n), AGENT, ORCHESTRATOR, "summarize \"weather\" for ünïcode users #" + n, null, 0,
                List.of(
                        new Grant("g1", "weather", ops("GET /forecast/**", "GET /alerts/eu"),
                                "request.headers['x-region'] == 'eu'", 25L, expires.minusSeconds(60)),
                        new Grant("g2", "search", ops("* /q"), null, null, expires)),
                T0, expires, String.format("%064x", n));
    }

    /** A task delegated from {@code parent} to the helper agent, with one grant within the parent's. */
    static Task child(int n, Task parent, Duration ttl) {
        Instant expires = T0.plus(ttl);
        return new Task(taskId(n), HELPER, parent.subject(), "fetch the alerts", parent.id(), parent.depth() + 1,
                List.of(new Grant("g1", "weather", ops("GET /alerts/eu"), null, 5L, expires)),
                T0.plusMillis(1), expires, String.format("%064x", n));
    }

    static List<OperationPattern> ops(String... patterns) {
        List<OperationPattern> list = new ArrayList<>();
        for (String p : patterns) {
            list.add(OperationPattern.parse(p));
        }
        return list;
    }

    /**
     * The {@code i}-th event (from 0) of an endless deterministic stream: a task start, a grant revocation in it,
     * and its end, over and over.
     */
    static TaskEvent event(int i) {
        int n = i / 3;
        Instant at = T0.plusNanos(i);
        return switch (i % 3) {
            case 0 -> new TaskEvent.Started(at, task(n, Duration.ofHours(1)));
            case 1 -> new TaskEvent.GrantRevoked(at, taskId(n), "g2", AGENT.uri(), "not needed #" + i);
            default -> new TaskEvent.Ended(at, taskId(n), n % 2 == 0 ? TaskState.ENDED : TaskState.REVOKED,
                    ORCHESTRATOR.uri(), "");
        };
    }

    static List<TaskEvent> events(int count) {
        List<TaskEvent> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            list.add(event(i));
        }
        return list;
    }
}
