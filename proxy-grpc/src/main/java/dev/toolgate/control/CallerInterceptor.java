package dev.toolgate.control;

import dev.toolgate.identity.PeerIdentity;
import dev.toolgate.identity.SpiffeId;
import dev.toolgate.identity.SpiffeIdPattern;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.List;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Names the caller of every control RPC: the SPIFFE ID of the client certificate of the call's TLS session (already
 * verified as an X.509-SVID during the handshake). A call without one is closed {@code UNAUTHENTICATED}; a caller
 * outside {@code access.control} (when set) is closed {@code PERMISSION_DENIED}. Fails closed: no session, no
 * certificate or an unreadable one means no call. Thread-safe.
 */
final class CallerInterceptor implements ServerInterceptor {
    private static final Logger log = LoggerFactory.getLogger(CallerInterceptor.class);
    private static final Context.Key<SpiffeId> CALLER = Context.key("toolgate-caller");

    private final List<SpiffeIdPattern> allowed;

    CallerInterceptor(List<SpiffeIdPattern> allowed) {
        this.allowed = List.copyOf(allowed);
    }

    /**
     * The caller of the current RPC.
     *
     * @throws IllegalStateException outside a call that passed this interceptor (a wiring bug: fail, never guess)
     */
    static SpiffeId caller() {
        SpiffeId id = CALLER.get();
        if (id == null) {
            throw new IllegalStateException("no authenticated caller in this context");
        }
        return id;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        SpiffeId id;
        try {
            if (session == null) {
                throw new SSLPeerUnverifiedException("no TLS session");
            }
            id = PeerIdentity.of(session);
        } catch (SSLPeerUnverifiedException e) {
            log.warn("control call {} from {} refused: {}", method,
                    call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), e.getMessage());
            call.close(Status.UNAUTHENTICATED.withDescription(
                    "the control API needs a client certificate holding an X.509-SVID"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        if (!allowed.isEmpty() && allowed.stream().noneMatch(p -> p.matches(id))) {
            log.warn("control call {} from {} refused: not in access.control", method, id);
            call.close(Status.PERMISSION_DENIED.withDescription(id.uri()
                    + " may not use the control API (access.control)"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return Contexts.interceptCall(Context.current().withValue(CALLER, id), call, headers, next);
    }
}
