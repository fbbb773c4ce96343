package dev.toolgate.proxy;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toolgate.config.ConfigLoader;
import dev.toolgate.grant.Grant;
import dev.toolgate.grant.GrantRequest;
import dev.toolgate.grant.LiveGrant;
import dev.toolgate.grant.LiveTask;
import dev.toolgate.grant.StartRequest;
import dev.toolgate.grant.TaskException;
import dev.toolgate.grant.TaskRegistry;
import dev.toolgate.grant.TaskState;
import dev.toolgate.identity.SpiffeId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The task endpoints of the agent-facing listener, for agents without gRPC (JSON in and out):
 *
 * <pre>
 * POST   /_toolgate/v1/tasks                      start a task (body: purpose, ttl, grants, optional agent)
 * POST   /_toolgate/v1/tasks:delegate             delegate part of the task whose token is in toolgate-task
 * GET    /_toolgate/v1/tasks[?agent=..&amp;state=..] list the tasks the caller may see
 * GET    /_toolgate/v1/tasks/{id}                 one task
 * DELETE /_toolgate/v1/tasks/{id}                 end a task (and what was delegated from it)
 * POST   /_toolgate/v1/tasks/{id}:revoke          revoke a task
 * DELETE /_toolgate/v1/tasks/{id}/grants/{grant}  revoke one grant
 * </pre>
 *
 * Errors are {@code {"error":"task_request_refused","code":...,"reason":...}} with the status of
 * {@link TaskException.Kind}. The token appears in exactly one place: the answer to a start or delegation.
 * Holds no Netty types; calls may block (journal fsync), so the caller runs them off the event loop. Thread-safe.
 */
final class TaskApi {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TaskApi.class);
    static final String PREFIX = "/_toolgate/";
    /** Largest request body accepted (a start request with many grants is a few KiB). */
    static final int MAX_BODY_BYTES = 64 * 1024;

    private static final Pattern TASK = Pattern.compile("/_toolgate/v1/tasks/(t-[0-9a-f]{24})");
    private static final Pattern REVOKE = Pattern.compile("/_toolgate/v1/tasks/(t-[0-9a-f]{24}):revoke");
    private static final Pattern GRANT = Pattern.compile("/_toolgate/v1/tasks/(t-[0-9a-f]{24})/grants/(g[0-9]{1,3})");
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final TaskRegistry tasks;
    private final Executor executor;

    /**
     * @param tasks    the registry the endpoints act on
     * @param executor where requests are served (the journal fsyncs there, never on an event loop)
     */
    TaskApi(TaskRegistry tasks, Executor executor) {
        this.tasks = tasks;
        this.executor = executor;
    }

    /**
     * Serves one request on the task executor and hands the answer to {@code then} on {@code back} (the exchange's
     * event loop); a sidecar that is shutting down answers 503 at once, on the caller's thread.
     */
    void serve(SpiffeId caller, String method, String path, String query, CharSequence taskToken, byte[] body,
               Executor back, Consumer<Answer> then) {
        try {
            executor.execute(() -> {
                Answer a = handle(caller, method, path, query, taskToken, body);
                back.execute(() -> then.accept(a));
            });
        } catch (RejectedExecutionException e) {
            then.accept(error(503, "UNAVAILABLE", "the sidecar is shutting down"));
        }
    }

    /** One answer: the HTTP status and the JSON body. */
    record Answer(int status, byte[] json) {}

    /** Whether {@code path} (normalized) is one of the sidecar's own endpoints rather than a route. */
    static boolean handles(String path) {
        return path.startsWith(PREFIX) || path.equals("/_toolgate");
    }

    /** Serves one request; never throws. */
    Answer handle(SpiffeId caller, String method, String path, String query, CharSequence taskToken, byte[] body) {
        try {
            return route(caller, method, path, query, taskToken, body);
        } catch (TaskException e) {
            return error(e.kind().httpStatus(), e.kind().name(), e.getMessage());
        } catch (RuntimeException e) {
            log.error("task endpoint {} {} failed", method, path, e);
            return error(500, "INTERNAL", "the sidecar failed to serve this request; nothing was changed"
                    + " unless a later GET shows it");
        }
    }

    private Answer route(SpiffeId caller, String method, String path, String query, CharSequence token, byte[] body)
            throws TaskException {
        Matcher m;
        if (path.equals("/_toolgate/v1/tasks")) {
            if (method.equals("POST")) {
                TaskRegistry.Started s = tasks.start(caller, startRequest(body, false));
                return started(s);
            }
            if (method.equals("GET")) {
                return list(caller, query);
            }
            return notAllowed("POST, GET");
        }
        if (path.equals("/_toolgate/v1/tasks:delegate")) {
            if (!method.equals("POST")) {
                return notAllowed("POST");
            }
            if (token == null) {
                throw new TaskException(TaskException.Kind.INVALID_ARGUMENT,
                        "toolgate-task: missing (expected: the parent task's token)");
            }
            return started(tasks.delegate(caller, token, startRequest(body, true)));
        }
        if ((m = REVOKE.matcher(path)).matches()) {
            if (!method.equals("POST")) {
                return notAllowed("POST");
            }
            return ok(200, task(tasks.revoke(caller, m.group(1), reason(body))));
        }
        if ((m = GRANT.matcher(path)).matches()) {
            if (!method.equals("DELETE")) {
                return notAllowed("DELETE");
            }
            return ok(200, task(tasks.revokeGrant(caller, m.group(1), m.group(2), reason(body))));
        }
        if ((m = TASK.matcher(path)).matches()) {
            if (method.equals("GET")) {
                return ok(200, task(tasks.get(caller, m.group(1))));
            }
            if (method.equals("DELETE")) {
                return ok(200, task(tasks.end(caller, m.group(1), reason(body))));
            }
            return notAllowed("GET, DELETE");
        }
        return error(404, "NOT_FOUND", "no sidecar endpoint " + path + " (see /_toolgate/v1/tasks)");
    }

    // ---- requests ----------------------------------------------------------------------------------------

    /** The JSON of a start or delegation request. */
    record StartJson(@JsonProperty("agent") String agent, @JsonProperty("purpose") String purpose,
                     @JsonProperty("ttl") String ttl, @JsonProperty("grants") List<GrantJson> grants) {}

    /**
     * The JSON of one requested grant. {@code when} is its CEL condition, named as in policy rules; {@code condition}
     * (its old name) is read only to be refused with the new one, never taken as a condition.
     */
    record GrantJson(@JsonProperty("route") String route, @JsonProperty("operations") List<String> operations,
                     @JsonProperty("when") String when, @JsonProperty("budget") Long budget,
                     @JsonProperty("ttl") String ttl, @JsonProperty("condition") JsonNode condition) {}

    /** The optional JSON body of an end or revocation. */
    record ReasonJson(@JsonProperty("reason") String reason) {}

    private static StartRequest startRequest(byte[] body, boolean delegation) throws TaskException {
        StartJson j = parse(body, StartJson.class);
        if (j == null) {
            throw invalid("body: empty (expected: {\"purpose\":..., \"ttl\":\"10m\", \"grants\":[...]})");
        }
        SpiffeId agent = null;
        if (j.agent() != null) {
            try {
                agent = SpiffeId.parse(j.agent());
            } catch (IllegalArgumentException e) {
                throw invalid("agent: " + e.getMessage());
            }
        }
        List<GrantRequest> grants = new ArrayList<>();
        if (j.grants() != null) {
            for (int i = 0; i < j.grants().size(); i++) {
                GrantJson g = j.grants().get(i);
                if (g == null) {
                    throw invalid("grants[" + i + "]: null (expected: an object)");
                }
                if (g.condition() != null) {
                    throw invalid("grants[" + i + "].condition: renamed (expected: when, a CEL condition as in"
                            + " policy rules)");
                }
                grants.add(new GrantRequest(g.route(), g.operations(), g.when(), g.budget(),
                        duration("grants[" + i + "].ttl", g.ttl())));
            }
        }
        return new StartRequest(agent, j.purpose(), duration("ttl", j.ttl()), grants);
    }

    private static String reason(byte[] body) throws TaskException {
        ReasonJson r = parse(body, ReasonJson.class);
        return r == null ? null : r.reason();
    }

    private static <T> T parse(byte[] body, Class<T> type) throws TaskException {
        if (body == null || body.length == 0) {
            return null;
        }
        try {
            return JSON.readValue(body, type);
        } catch (JsonProcessingException e) {
            throw invalid("body: not a valid request: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw invalid("body: unreadable: " + e.getMessage());
        }
    }

    private static Duration duration(String field, String text) throws TaskException {
        if (text == null) {
            return null;
        }
        try {
            return ConfigLoader.parseDuration(text);
        } catch (IllegalArgumentException e) {
            throw invalid(field + ": " + e.getMessage());
        }
    }

    private Answer list(SpiffeId caller, String query) throws TaskException {
        SpiffeId agent = null;
        TaskState state = null;
        if (query != null && !query.isEmpty()) {
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                String key = eq < 0 ? pair : pair.substring(0, eq);
                String value = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1),
                        java.nio.charset.StandardCharsets.UTF_8);
                switch (key) {
                    case "agent" -> {
                        try {
                            agent = SpiffeId.parse(value);
                        } catch (IllegalArgumentException e) {
                            throw invalid("agent: " + e.getMessage());
                        }
                    }
                    case "state" -> {
                        try {
                            state = TaskState.valueOf(value.toUpperCase(Locale.ROOT));
                        } catch (IllegalArgumentException e) {
                            throw invalid("state: \"" + value + "\" (expected: active, ended, revoked or expired)");
                        }
                    }
                    default -> throw invalid("unknown query parameter \"" + key + "\" (expected: agent, state)");
                }
            }
        }
        ObjectNode out = JSON.createObjectNode();
        ArrayNode arr = out.putArray("tasks");
        for (LiveTask t : tasks.list(caller, agent, state)) {
            arr.add(task(t));
        }
        return ok(200, out);
    }

    // ---- answers -----------------------------------------------------------------------------------------

    private Answer started(TaskRegistry.Started s) {
        ObjectNode json = task(s.task());
        json.put("token", s.token());
        return ok(201, json);
    }

    private ObjectNode task(LiveTask live) {
        long now = tasks.clock().millis();
        ObjectNode j = JSON.createObjectNode();
        j.put("task_id", live.task().id());
        j.put("agent", live.task().subject().uri());
        j.put("started_by", live.task().startedBy().uri());
        if (live.task().parentId() != null) {
            j.put("parent_task_id", live.task().parentId());
        }
        j.put("purpose", live.task().purpose());
        j.put("state", live.state(now).json());
        j.put("created_at", live.task().createdAt().toString());
        j.put("expires_at", live.task().expiresAt().toString());
        ArrayNode grants = j.putArray("grants");
        for (Grant g : live.task().grants()) {
            LiveGrant lg = live.grant(g.id());
            ObjectNode gj = grants.addObject();
            gj.put("grant_id", g.id());
            gj.put("route", g.route());
            ArrayNode ops = gj.putArray("operations");
            g.operations().forEach(op -> ops.add(op.toString()));
            if (g.condition() != null) {
                gj.put("when", g.condition());
            }
            if (g.budget() != null) {
                gj.put("budget", g.budget());
                gj.put("remaining", lg.remaining());
            }
            gj.put("expires_at", g.expiresAt().toString());
            gj.put("state", lg.revoked() ? "revoked" : lg.expired(now) ? "expired" : "active");
        }
        return j;
    }

    private static Answer ok(int status, ObjectNode json) {
        try {
            return new Answer(status, (JSON.writeValueAsString(json) + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree always serializes", e);
        }
    }

    static Answer error(int status, String code, String reason) {
        ObjectNode j = JSON.createObjectNode();
        j.put("error", "task_request_refused");
        j.put("code", code);
        j.put("reason", reason);
        return ok(status, j);
    }

    private static Answer notAllowed(String allowed) {
        return error(405, "METHOD_NOT_ALLOWED", "method not allowed here (expected: " + allowed + ")");
    }

    private static TaskException invalid(String message) {
        return new TaskException(TaskException.Kind.INVALID_ARGUMENT, message);
    }
}
