package dev.toolgate.control;

import static java.util.Objects.requireNonNull;

import dev.toolgate.admission.AdmissionRequest;
import dev.toolgate.admission.Intent;
import dev.toolgate.admission.Step;
import dev.toolgate.audit.AuditRecord;
import dev.toolgate.audit.AuditTrail;
import dev.toolgate.call.IdentityHeaders;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpiffeIdPattern;
import dev.toolgate.proxy.RouteSnapshot;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's external authorization ({@code envoy.service.auth.v3.Authorization/Check}) over the sidecar's own
 * decisions: a CheckRequest is mapped to the call the data plane would see (the caller is the SPIFFE ID Envoy
 * puts in {@code attributes.source.principal} after terminating the agent's mTLS; the path normalized as the data
 * plane does; the route matched in the same table; the {@code toolgate-task} header; the JSON-RPC messages of an
 * MCP POST's body) and judged by the same {@link dev.toolgate.admission.Admission} as the data plane, so a call
 * gets the same decision code and the same decision record through either path (header names outside the token
 * grammar and override headers refused alike). An allowed call's answer has Envoy remove the task token and the
 * identity-asserting headers the data plane drops ({@link IdentityHeaders}). This class only translates.
 *
 * <p>Every check writes a decision record to the audit trail before it answers; if the trail does not accept it
 * within {@code audit.maxWait} (or at once, while its sink is failing: {@link AuditTrail#available}) the call is
 * denied ({@code ERROR_FAIL_CLOSED}). There is no outcome record: Envoy,
 * not the sidecar, forwards an allowed call. Only callers matching {@code access.extAuthz} may check
 * (others get {@code PERMISSION_DENIED}). Fails closed: any error while mapping or deciding is a denial.
 *
 * <p>Thread-safe. A check waits for the audit trail on the gRPC executor thread (never on an event loop), at most
 * {@code audit.maxWait}.
 */
final class ExtAuthzService extends AuthorizationGrpc.AuthorizationImplBase {
    private static final Logger log = LoggerFactory.getLogger(ExtAuthzService.class);
    /** Envoy sets it when {@code allow_partial_message} cut the body at {@code max_request_bytes}. */
    private static final String PARTIAL_BODY_HEADER = "x-envoy-auth-partial-body";

    /** The route set in force (routes, their labels, which inject a credential); read once per check. */
    private final Supplier<RouteSnapshot> routeSets;
    private final AuditTrail audit;
    private final long auditMaxWaitNanos;
    private final Clock clock;
    private final List<SpiffeIdPattern> clients;

    ExtAuthzService(Supplier<RouteSnapshot> routeSets, AuditTrail audit, long auditMaxWaitNanos, Clock clock,
                    List<SpiffeIdPattern> clients) {
        this.routeSets = requireNonNull(routeSets, "routeSets");
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

    /** One check: its decision id, its timing, and what admission knew when it decided. */
    private final class Check {
        private final long startNanos = System.nanoTime();
        private final String decisionId = decisionId();
        private final CheckRequest request;
        /** One route set for the whole check, even if the routes are reloaded meanwhile. */
        private final RouteSnapshot routes = routeSets.get();
        private Intent intent;
        private String agent;
        private EnvoyHeaders headers;

        Check(CheckRequest request) {
            this.request = request;
        }

        CheckResponse run() {
            try {
                return decide();
            } catch (RuntimeException e) {
                log.error("ext_authz check {} failed; denying", decisionId, e);
                if (intent == null) {
                    intent = Intent.of("?", "?");
                }
                return deny(new Step.Refused(intent, DecisionCode.ERROR_FAIL_CLOSED,
                        "the decision could not be made; denied", Step.Answer.DECIDED, null));
            }
        }

        private CheckResponse decide() {
            AttributeContext.HttpRequest http = request.getAttributes().getRequest().getHttp();
            SpiffeId id = principal(request.getAttributes().getSource().getPrincipal());
            agent = id == null ? null : id.uri();
            headers = new EnvoyHeaders(http);
            // Envoy terminated the agent's mTLS: the principal was proven by its client certificate.
            Step step = routes.admission().head(new AdmissionRequest(http.getMethod(), http.getPath(), headers, id,
                    IdentityProof.X509, false));
            if (step instanceof Step.NeedsBody pending) {
                step = body(pending, http, headers);
            }
            intent = step.intent();
            if (step instanceof Step.Admitted a) {
                return allow(a);
            }
            if (step instanceof Step.Refused no) {
                return deny(no);
            }
            // The sidecar's own endpoints are the data plane's; through Envoy they are no route.
            return deny(new Step.Refused(intent, DecisionCode.DENY_POLICY, "no route for "
                    + ((Step.Local) step).target().path(), Step.Answer.NO_ROUTE, null));
        }

        /** An MCP POST is judged by the body Envoy sent along ({@code with_request_body}). */
        private Step body(Step.NeedsBody pending, AttributeContext.HttpRequest http, EnvoyHeaders headers) {
            byte[] body = http.getRawBody().isEmpty() ? http.getBody().getBytes(StandardCharsets.UTF_8)
                    : http.getRawBody().toByteArray();
            if (body.length == 0) {
                return pending.malformed("ext_authz must send the request body for MCP routes (with_request_body)");
            }
            if (headers.values(PARTIAL_BODY_HEADER).contains("true")) {
                return pending.malformed("Envoy sent only part of the MCP body (allow_partial_message); raise"
                        + " with_request_body.max_request_bytes");
            }
            return routes.admission().body(pending, body, 0, body.length);
        }

        private CheckResponse allow(Step.Admitted a) {
            if (!record(DecisionCode.ALLOW, a.allow().reason())) {
                routes.admission().giveBack(a);
                return auditFailed();
            }
            return ExtAuthzAnswers.ok(decisionId, routes.injectsCredential(a.route()),
                    IdentityHeaders.toRemove(headers));
        }

        private CheckResponse deny(Step.Refused no) {
            if (!record(no.code(), no.reason())) {
                return auditFailed();
            }
            return ExtAuthzAnswers.denied(no.status(), no.error(), no.code().name(), no.reason(), intent.route(),
                    decisionId, no.approvalId(), no.retryAfterSeconds());
        }

        private CheckResponse auditFailed() {
            return ExtAuthzAnswers.denied(503, "audit_unavailable", DecisionCode.ERROR_FAIL_CLOSED.name(),
                    "the call could not be audited in time (ERROR_FAIL_CLOSED)", intent.route(), decisionId);
        }

        /** Writes the decision record and waits until it is in the file; false when it is not within the bound. */
        private boolean record(DecisionCode code, String reason) {
            long decisionUs = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - startNanos);
            AuditRecord rec = intent.record(clock.instant(), decisionId, null, null, agent,
                    agent == null ? null : "x509", decisionUs, code, reason);
            if (!audit.writeAndWait(rec, Duration.ofNanos(auditMaxWaitNanos))) {
                log.error("ext_authz decision {} not in the audit file in time; failing closed", decisionId);
                return false;
            }
            return true;
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
}
