package dev.toolgate.cli;

import dev.toolgate.api.v1.AuditRecord;
import dev.toolgate.api.v1.AuditServiceGrpc;
import dev.toolgate.api.v1.TailRequest;
import dev.toolgate.api.v1.TailResponse;
import dev.toolgate.config.ConfigLoader;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code toolgate tail}: the audit records a running sidecar writes, live, as a table or as the JSON lines of the
 * audit file. Needs a caller in {@code access.admins} or {@code access.auditors}. A tail that falls behind is told
 * how many records it skipped (they are in the audit file). Runs until interrupted, {@code --count} records or
 * {@code --for} a duration.
 */
@Command(name = "tail", mixinStandardHelpOptions = true,
        description = "Follow the audit trail of a running sidecar (control API), filtered on the sidecar.")
final class TailCommand implements Callable<Integer> {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneOffset.UTC);
    private static final String ROW = "%-12s %-8s %-26s %-40s %-26s %-10s %s%n";

    @Mixin
    ControlOptions control;

    @Spec
    CommandSpec spec;

    @Option(names = "--agent", paramLabel = "SPIFFE_ID", description = "Only records of this agent.")
    String agent;

    @Option(names = "--task", paramLabel = "TASK_ID", description = "Only records of this task.")
    String task;

    @Option(names = "--route", description = "Only records of this route.")
    String route;

    @Option(names = "--decision", description = "Only this decision: allow or deny.")
    String decision;

    @Option(names = "--code", description = "Only this decision code, e.g. DENY_TASK_ENDED.")
    String code;

    @Option(names = "--phase", description = "Only this phase: decision, outcome, task or gap.")
    String phase;

    @Option(names = "--json", description = "Print each record as the JSON line of the audit file (an overflow"
            + " notice as {\"overflow\":{\"dropped\":N}}).")
    boolean json;

    @Option(names = "--count", paramLabel = "N", description = "Stop after N records.")
    Integer count;

    @Option(names = "--for", paramLabel = "DURATION", description = "Stop after this long, e.g. 30s.")
    String duration;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        TailRequest.Builder req = TailRequest.newBuilder();
        if (agent != null) {
            req.setAgent(agent);
        }
        if (task != null) {
            req.setTaskId(task);
        }
        if (route != null) {
            req.setRoute(route);
        }
        if (decision != null) {
            req.setDecision(decision);
        }
        if (code != null) {
            req.setCode(code);
        }
        if (phase != null) {
            req.setPhase(phase);
        }
        ManagedChannel channel;
        AuditServiceGrpc.AuditServiceBlockingStub stub;
        try {
            channel = control.channel();
            stub = AuditServiceGrpc.newBlockingStub(channel);
            if (duration != null) {
                stub = stub.withDeadlineAfter(ConfigLoader.parseDuration(duration).toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (Exception e) {
            return ControlOptions.unusable(err, "tail", e);
        }
        try {
            Iterator<TailResponse> it = stub.tail(req.build());
            if (!json) {
                out.printf(ROW, "TIME (UTC)", "PHASE", "CODE / STATUS / EVENT", "AGENT", "TASK", "ROUTE", "DETAIL");
                out.flush();
            }
            int seen = 0;
            while ((count == null || seen < count) && it.hasNext()) {
                TailResponse item = it.next();
                if (item.hasOverflow()) {
                    long n = item.getOverflow().getDropped();
                    out.println(json ? "{\"overflow\":{\"dropped\":" + n + "}}"
                            : "... " + n + " records skipped: this tail fell behind (the audit file has them)");
                } else {
                    seen++;
                    out.print(json ? item.getRecord().getJson() + "\n" : row(item.getRecord()));
                }
                out.flush();
            }
            return 0;
        } catch (StatusRuntimeException e) {
            if (duration != null && e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
                return 0;
            }
            return control.refused(err, "tail", e);
        } finally {
            ControlOptions.close(channel);
        }
    }

    private static String row(AuditRecord r) {
        String time = TIME.format(Instant.ofEpochSecond(r.getTs().getSeconds(), r.getTs().getNanos()));
        String result;
        String detail;
        switch (r.getPhase()) {
            case "task" -> {
                result = r.getEvent();
                detail = "by " + r.getActor() + (r.getGrantId().isEmpty() ? "" : ", grant " + r.getGrantId())
                        + (r.getReason().isEmpty() ? "" : ": " + r.getReason());
            }
            case "gap" -> {
                result = r.getCode().isEmpty() ? r.getEvent() : r.getCode(); // torn_tail has no code
                detail = r.getReason();
            }
            case "outcome" -> {
                result = (r.hasUpstreamStatus() ? String.valueOf(r.getUpstreamStatus()) : "-") + " " + r.getOutcome();
                detail = r.getOperation() + (r.hasUpstreamMs() ? "  " + r.getUpstreamMs() + " ms" : "")
                        + (r.hasBytesOut() ? "  " + r.getBytesOut() + " bytes" : "");
            }
            default -> {
                result = r.getCode();
                detail = r.getOperation() + (r.getDecision().equals("allow") || r.getReason().isEmpty() ? ""
                        : ": " + r.getReason());
            }
        }
        return String.format(ROW, time, r.getPhase(), result, r.getAgent(), r.getTaskId(), r.getRoute(), detail);
    }
}
