package dev.toolgate.fleet;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.Status;
import io.grpc.StatusOr;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The members of an etcd cluster as one gRPC target: a name resolver that hands the channel every configured
 * endpoint (host names looked up again on each refresh, so a member that moved is found), each with its own TLS
 * authority, so the channel fails over between members by itself. Thread-safe.
 */
final class EtcdEndpoints extends NameResolverProvider {
    static final String SCHEME = "toolgate-etcd";

    private final List<URI> endpoints;

    EtcdEndpoints(List<URI> endpoints) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("etcd.endpoints: empty (expected: at least one member's client URL)");
        }
        this.endpoints = List.copyOf(endpoints);
    }

    /** The channel target this resolver answers for. */
    String target() {
        return SCHEME + ":///etcd";
    }

    @Override
    public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
        return SCHEME.equals(targetUri.getScheme()) ? new Resolver() : null;
    }

    @Override
    protected boolean isAvailable() {
        return true;
    }

    @Override
    protected int priority() {
        return 5;
    }

    @Override
    public String getDefaultScheme() {
        return SCHEME;
    }

    @Override
    public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
        return List.of(InetSocketAddress.class);
    }

    private final class Resolver extends NameResolver {
        private Listener2 listener;

        @Override
        public String getServiceAuthority() {
            URI first = endpoints.get(0);
            return first.getHost() + ":" + first.getPort();
        }

        @Override
        public void start(Listener2 l) {
            this.listener = l;
            resolve();
        }

        @Override
        public void refresh() {
            resolve();
        }

        private void resolve() {
            List<EquivalentAddressGroup> groups = new ArrayList<>();
            for (URI e : endpoints) {
                InetSocketAddress address = new InetSocketAddress(e.getHost(), e.getPort());
                if (!address.isUnresolved()) {
                    groups.add(new EquivalentAddressGroup(address, Attributes.newBuilder()
                            .set(EquivalentAddressGroup.ATTR_AUTHORITY_OVERRIDE, e.getHost() + ":" + e.getPort())
                            .build()));
                }
            }
            if (groups.isEmpty()) {
                listener.onError(Status.UNAVAILABLE.withDescription("no etcd endpoint resolves: " + endpoints));
                return;
            }
            listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build());
        }

        @Override
        public void shutdown() {
            // nothing held
        }
    }
}
