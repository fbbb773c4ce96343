package dev.toolgate.control;

import static java.util.Objects.requireNonNull;

import dev.toolgate.audit.ArgumentCapture;
import dev.toolgate.audit.AuditRecord;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.authz.CallDecider;
import dev.toolgate.authz.Decision;
import dev.toolgate.authz.DecisionCode;
import dev.toolgate.call.McpParseException;
import dev.toolgate.call.McpParser;
import dev.toolgate.call.McpRequest;
import dev.toolgate.call.PathNormalizer;
import dev.toolgate.call.RejectedTargetException;
import dev.toolgate.call.RequestHeaders;
import dev.toolgate.call.RequestTarget;
import dev.toolgate.call.RouteMatch;
import dev.toolgate.grant.Task;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpiffeIdPattern;
import dev.toolgate.proxy.RouteSnapshot;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's external authorization ({@code envoy.service.auth.v3.Authorization/Check}) over the sidecar's own
 * decisions: a CheckRequest is mapped to the call the data plane would see (the caller is the SPIFFE ID Envoy
 * puts in {@code attributes.source.principal} after terminating the agent's mTLS; the path normalized as the data
 * plane does; the route matched in the same table; the {@code toolgate-task} header; the JSON-RPC messages of an
 * MCP POST's body) and decided by the same {@link CallDecider}, so a call gets the same decision code through
 * either path.
 *
 * <p>Every check writes a decision record to the audit trail before it answers; if the trail does not accept it
 * within {@code audit.maxWait} the call is denied ({@code ERROR_FAIL_CLOSED}). There is no outcome record: Envoy,
 * not the sidecar, forwards an allowed call. Only callers matching {@code access.extAuthz} may check
 * (others get {@code PERMISSION_DENIED}). Fails closed: any error while mapping or deciding is a denial.
 *
 * <p>Thread-safe. A check waits for the audit trail on the gRPC executor thread (never on an event loop), at most
 * {@code audit.maxWait}.
 */
final class ExtAuthzService extends AuthorizationGrpc.AuthorizationImplBase {
    private static final Logger log = LoggerFactory.getLogger(ExtAuthzService.class);
    private static final int MAX_OPERATION_CHARS = 512;
    private static final String TASK_HEADER = "toolgate-task";
    /** Envoy sets it when {@code allow_partial_message} cut the body at {@code max_request_bytes}. */
    private static final String PARTIAL_BODY_HEADER = "x-envoy-auth-partial-body";

    /** The route set in force (routes, their labels, which inject a credential); read once per check. */
    private final Supplier<RouteSnapshot> routeSets;
    private final McpParser mcpParser;
    private final AuditTrail audit;
    private final long auditMaxWaitNanos;
    private final Clock clock;
    private final List<SpiffeIdPattern> clients;

    ExtAuthzService(Supplier<RouteSnapshot> routeSets, McpParser mcpParser, AuditTrail audit, long auditMaxWaitNanos,
                    Clock clock, List<SpiffeIdPattern> clients) {
        this.routeSets = requireNonNull(routeSets, "routeSets");
        this.mcpParser = requireNonNull(mcpParser, "mcpParser");
        this.audit = requireNonNull(audit, "audit");
        this.auditMaxWaitNanos = auditMaxWaitNanos;
        this.clock = requireNonNull(clock, "clock");
        this.clients = List.copyOf(clients);
    }

    @Override
    public void check(CheckRequest request, StreamObserver<CheckResponse> response) {
        SpiffeId caller = CallerInterceptor.caller();
        if (clients.stream().noneMatch(p -> p.matches(caller))) {
            log.warn("ext_authz check from {} refused: not in access.extAuthz", caller);
            response.onError(Status.PERMISSION_DENIED.withDescription(caller.uri()
                    + " may not call ext_authz Check (access.extAuthz)").asRuntimeException());
            return;
        }
        response.onNext(new Check(request).run());
        response.onCompleted();
    }

    /** One check: what it learned so far, for its decision record. */
    private final class Check {
        private final long startNanos = System.nanoTime();
        private final String decisionId = decisionId();
        private final CheckRequest request;
        /** One route set for the whole check, even if the routes are reloaded meanwhile. */
        private final RouteSnapshot routes = routeSets.get();
        private String agent;
        private String route;
        private String protocol = "http";
        private String operation;
        private Decision decision;
        /** The MCP body's argument digest and captured values, for the decision record (null: not an MCP POST). */
        private ArgumentCapture.Recorded arguments;

        Check(CheckRequest request) {
            this.request = request;
        }

        CheckResponse run() {
            try {
                return decide();
            } catch (RuntimeException e) {
                log.error("ext_authz check {} failed; denying", decisionId, e);
                return deny(503, "toolgate_denied", DecisionCode.ERROR_FAIL_CLOSED.name(),
                        "the decision could not be made; denied");
            }
        }

        private CheckResponse decide() {
            AttributeContext.HttpRequest http = request.getAttributes().getRequest().getHttp();
            String method = http.getMethod();
            describe(method + " " + http.getPath());
            RequestTarget target;
            try {
                target = PathNormalizer.normalize(http.getPath());
            } catch (RejectedTargetException e) {
                return deny(400, "bad_request", "DENY_MALFORMED", "refused request target: " + e.getMessage());
            }
            SpiffeId id = principal(request.getAttributes().getSource().getPrincipal());
            if (id == null) {
                return deny(403, "toolgate_denied", "DENY_NO_IDENTITY",
                        "no verified workload identity: attributes.source.principal holds no SPIFFE ID (Envoy must"
                                + " terminate the agent's mTLS)");
            }
            agent = id.uri();
            Headers headers = new Headers(http);
            List<String> tokens = headers.all(TASK_HEADER);
            if (tokens.size() > 1) {
                return deny(400, "bad_request", "DENY_MALFORMED",
                        "more than one toolgate-task header (expected: one task token)");
            }
            String token = tokens.isEmpty() ? null : tokens.get(0);
            RouteMatch match = routes.table().match(target.path());
            describe(method + " " + target.path());
            if (match == null) {
                return deny(403, "no_route", "DENY_POLICY", "no route for " + target.path());
            }
            route = match.route().name();
            protocol = match.route().protocol();
            if (protocol.equals("mcp") && method.equals("POST")) {
                return decideMcp(id, token, match, http, headers);
            }
            return answer(routes.decider().decide(id, IdentityProof.X509, token, match, method, headers));
        }

        private CheckResponse decideMcp(SpiffeId id, String token, RouteMatch match, AttributeContext.HttpRequest http,
                                        Headers headers) {
            byte[] body = http.getRawBody().isEmpty() ? http.getBody().getBytes(StandardCharsets.UTF_8)
                    : http.getRawBody().toByteArray();
            if (body.length == 0) {
                return deny(400, "bad_request", "DENY_MALFORMED",
                        "ext_authz must send the request body for MCP routes (with_request_body)");
            }
            if (headers.all(PARTIAL_BODY_HEADER).contains("true")) {
                return deny(400, "bad_request", "DENY_MALFORMED", "Envoy sent only part of the MCP body"
                        + " (allow_partial_message); raise with_request_body.max_request_bytes");
            }
            if (!McpParser.isMcpJson(headers.first("content-type"))) {
                return deny(400, "bad_request", "DENY_MALFORMED",
                        "an MCP POST carries one JSON-RPC message or batch as application/json");
            }
            if (body.length > mcpParser.maxBytes()) {
                return deny(400, "bad_request", "DENY_MALFORMED",
                        "MCP body larger than " + mcpParser.maxBytes() + " bytes");
            }
            McpRequest parsed;
            try {
                parsed = mcpParser.parse(body, 0, body.length);
            } catch (McpParseException e) {
                return deny(400, "bad_request", "DENY_MALFORMED", e.reason());
            }
            arguments = routes.capture(match.route().name()).record(parsed);
            CallDecider.McpDecisions judged = routes.decider().decideMcp(id, IdentityProof.X509, token, match,
                    parsed, headers);
            describe(judged.operation());
            return answer(judged.verdict());
        }

        private CheckResponse answer(Decision d) {
            decision = d;
            if (d instanceof Decision.Allow allow) {
                return allow(allow);
            }
            Decision.Deny deny = (Decision.Deny) d;
            if (!record("deny", deny.code().name(), deny.reason(), "enforce")) {
                return auditFailed();
            }
            int status = deny.code() == DecisionCode.ERROR_FAIL_CLOSED ? 503 : deny.retryAfter() != null ? 429 : 403;
            return ExtAuthzAnswers.denied(status, "toolgate_denied", deny.code().name(), deny.reason(), route,
                    decisionId, deny.approvalId(), deny.retryAfterSeconds());
        }

        private CheckResponse allow(Decision.Allow allow) {
            boolean shadow = allow.wouldDeny() != null;
            boolean recorded = record(shadow ? "would_deny" : "allow", shadow ? allow.wouldDeny().code() : "ALLOW",
                    shadow ? allow.wouldDeny().reason() : allow.reason(), shadow ? "shadow" : "enforce");
            if (!recorded) {
                return auditFailed();
            }
            return ExtAuthzAnswers.ok(decisionId, routes.injectsCredential(route));
        }

        private CheckResponse deny(int status, String error, String code, String reason) {
            if (!record("deny", code, reason, "enforce")) {
                return auditFailed();
            }
            return ExtAuthzAnswers.denied(status, error, code, reason, route, decisionId,
                    decision == null ? null : decision.approvalId(), 0);
        }

        private CheckResponse auditFailed() {
            return ExtAuthzAnswers.denied(503, "audit_unavailable", DecisionCode.ERROR_FAIL_CLOSED.name(),
                    "the call could not be audited in time (ERROR_FAIL_CLOSED)", route, decisionId);
        }

        /** Writes the decision record; false when the trail did not take it within the bound. */
        private boolean record(String outcome, String code, String reason, String mode) {
            String taskId = null;
            String parentTaskId = null;
            String purpose = null;
            String grantId = null;
            String policy = null;
            if (decision != null) {
                if (decision.task() != null) {
                    Task t = decision.task().task();
                    taskId = t.id();
                    parentTaskId = t.parentId();
                    purpose = t.purpose();
                }
                if (decision instanceof Decision.Allow a) {
                    grantId = a.grant().id();
                }
                policy = decision.policy();
            }
            long decisionUs = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - startNanos);
            AuditRecord rec = AuditRecord.decision(clock.instant(), decisionId, null, null, agent, taskId,
                    parentTaskId, purpose, route, protocol, operation, outcome, code, reason, grantId, policy, mode,
                    decisionUs)
                    // Envoy terminated the agent's mTLS: the principal was proven by its client certificate.
                    .withIdentity(agent == null ? null : "x509");
            if (decision != null && decision.approvalId() != null) {
                rec = rec.withApprovalId(decision.approvalId());
            }
            if (arguments != null) {
                rec = rec.withArgs(arguments.digest(), arguments.args());
            }
            long deadline = System.nanoTime() + auditMaxWaitNanos;
            while (!audit.offer(rec)) {
                if (System.nanoTime() - deadline > 0 || Thread.currentThread().isInterrupted()) {
                    log.error("audit trail did not accept ext_authz decision {} in time; failing closed",
                            decisionId);
                    audit.refused(rec);
                    return false;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
            return true;
        }

        private void describe(String op) {
            operation = op.length() > MAX_OPERATION_CHARS ? op.substring(0, MAX_OPERATION_CHARS) + "..." : op;
        }
    }

    /** The caller Envoy names, or null when it is absent or not a SPIFFE ID (fail closed). */
    private static SpiffeId principal(String principal) {
        if (principal.isEmpty()) {
            return null;
        }
        try {
            return SpiffeId.parse(principal);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String decisionId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return hex(r.nextLong()) + hex(r.nextLong());
    }

    private static String hex(long v) {
        String s = Long.toHexString(v);
        return "0".repeat(16 - s.length()) + s;
    }

    /**
     * The request headers as Envoy sends them: names lower-cased, either in {@code header_map} (one entry per
     * header line, when {@code encode_raw_headers} is set) or in {@code headers} (repeated headers joined with
     * commas). {@code header_map} wins when present: Envoy fills one or the other.
     */
    private static final class Headers implements RequestHeaders {
        private final AttributeContext.HttpRequest http;

        Headers(AttributeContext.HttpRequest http) {
            this.http = http;
        }

        /** Envoy's {@code host} attribute (the {@code :authority}), or null. */
        @Override
        public String host() {
            return http.getHost().isEmpty() ? null : http.getHost();
        }

        /** Every header by lower-case name, repeated ones joined with {@code ", "}; pseudo-headers left out. */
        @Override
        public Map<String, String> asMap() {
            Map<String, String> m = new HashMap<>();
            if (http.hasHeaderMap() && http.getHeaderMap().getHeadersCount() > 0) {
                for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
                    String v = h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8();
                    put(m, h.getKey(), v);
                }
            } else {
                http.getHeadersMap().forEach((k, v) -> put(m, k, v));
            }
            return m;
        }

        private static void put(Map<String, String> m, String name, String value) {
            if (!name.startsWith(":")) {
                m.merge(name.toLowerCase(Locale.ROOT), value, (a, b) -> a + ", " + b);
            }
        }

        /** Every value of {@code name}, each comma-separated element on its own; empty elements dropped. */
        List<String> all(String name) {
            List<String> values = new ArrayList<>();
            if (http.hasHeaderMap() && http.getHeaderMap().getHeadersCount() > 0) {
                for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
                    if (h.getKey().equalsIgnoreCase(name)) {
                        split(h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8(), values);
                    }
                }
            } else {
                String v = http.getHeadersMap().get(name);
                if (v != null) {
                    split(v, values);
                }
            }
            return values;
        }

        /** The first value of {@code name} as sent (not split), or null. */
        String first(String name) {
            if (http.hasHeaderMap() && http.getHeaderMap().getHeadersCount() > 0) {
                for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
                    if (h.getKey().equalsIgnoreCase(name)) {
                        return h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8();
                    }
                }
                return null;
            }
            return http.getHeadersMap().get(name);
        }

        private static void split(String value, List<String> into) {
            for (String part : value.split(",", -1)) {
                String p = part.strip();
                if (!p.isEmpty()) {
                    into.add(p);
                }
            }
        }
    }
}
