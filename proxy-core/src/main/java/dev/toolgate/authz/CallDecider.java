package dev.toolgate.authz;

import static java.util.Objects.requireNonNull;

import dev.toolgate.call.Call;
import dev.toolgate.common.DecisionCode;
import dev.toolgate.mcp.McpMessage;
import dev.toolgate.mcp.McpRequest;
import dev.toolgate.call.RequestHeaders;
import dev.toolgate.call.RouteMatch;
import dev.toolgate.identity.IdentityProof;
import dev.toolgate.identity.SpiffeId;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one request (caller, task token, matched route, method and, on an MCP POST, its parsed JSON-RPC messages)
 * into {@link Call}s and asks the {@link Authorizer}, failing closed: an authorizer that throws is a denial
 * ({@code ERROR_FAIL_CLOSED}). The one place both the data plane and Envoy's ext_authz check build calls, so the
 * same request gets the same decision through either.
 *
 * <p>Thread-safe (the authorizer is); throws nothing but {@link NullPointerException} for a missing argument.
 */
public final class CallDecider {
    private static final Logger log = LoggerFactory.getLogger(CallDecider.class);

    private final Authorizer authorizer;

    public CallDecider(Authorizer authorizer) {
        this.authorizer = requireNonNull(authorizer, "authorizer");
    }

    /** The authorizer asked. */
    public Authorizer authorizer() {
        return authorizer;
    }

    /** Decides a request judged by its method and path (everything but an MCP POST), by a certificate caller. */
    public Decision decide(SpiffeId agent, CharSequence token, RouteMatch match, String method) {
        return decide(agent, IdentityProof.X509, token, match, method, RequestHeaders.NONE);
    }

    /**
     * Decides a request judged by its method, path and (for conditions) headers, by a caller that proved
     * {@code agent} by {@code proof}: everything but an MCP POST.
     */
    public Decision decide(SpiffeId agent, IdentityProof proof, CharSequence token, RouteMatch match, String method,
                           RequestHeaders headers) {
        return decide(new Call(agent, token, match.route().name(), match.route().protocol(), method,
                match.routePath(), null, proof, headers));
    }

    /**
     * Decides every JSON-RPC message of an MCP POST; the request is allowed only when every message is.
     */
    public McpDecisions decideMcp(SpiffeId agent, CharSequence token, RouteMatch match, McpRequest parsed) {
        return decideMcp(agent, IdentityProof.X509, token, match, parsed, RequestHeaders.NONE);
    }

    /**
     * As {@link #decideMcp(SpiffeId, CharSequence, RouteMatch, McpRequest)}, by a caller that proved by
     * {@code proof}, conditions seeing the headers.
     */
    public McpDecisions decideMcp(SpiffeId agent, IdentityProof proof, CharSequence token, RouteMatch match,
                                  McpRequest parsed, RequestHeaders headers) {
        requireNonNull(parsed, "parsed");
        List<Decision> decisions = new ArrayList<>(parsed.messages().size());
        Decision.Deny first = null;
        for (McpMessage m : parsed.messages()) {
            Decision d = decide(new Call(agent, token, match.route().name(), match.route().protocol(), "POST",
                    match.routePath(), m, proof, headers));
            decisions.add(d);
            if (first == null && d instanceof Decision.Deny deny) {
                first = deny;
            }
        }
        if (first != null) {
            // Nothing of the batch is forwarded: what its allowed messages took is given back.
            for (Decision d : decisions) {
                if (d instanceof Decision.Allow a) {
                    authorizer.release(a);
                }
            }
        }
        return new McpDecisions(parsed, decisions, first);
    }

    /** Asks the authorizer; a decision that cannot be made is a denial (fail closed). */
    public Decision decide(Call call) {
        try {
            return authorizer.decide(call);
        } catch (RuntimeException e) {
            log.error("the authorizer failed on {}; denying", call, e);
            return new Decision.Deny(DecisionCode.ERROR_FAIL_CLOSED, "the decision could not be made; denied", null);
        }
    }

    /**
     * The decisions of an MCP POST, one per message in order, and the first denial among them (null when all
     * were allowed).
     */
    public record McpDecisions(McpRequest request, List<Decision> decisions, Decision.Deny firstDenial) {
        public McpDecisions {
            requireNonNull(request, "request");
            decisions = List.copyOf(decisions);
        }

        /** The decision the request as a whole gets: the first denial, else the first message's allow. */
        public Decision verdict() {
            return firstDenial != null ? firstDenial : decisions.get(0);
        }

        /** The operation as audited: the message's, or {@code batch: op1, op2, ...}. */
        public String operation() {
            return request.batch() ? "batch: " + String.join(", ",
                    request.messages().stream().map(McpMessage::operation).toList())
                    : request.messages().get(0).operation();
        }
    }
}
