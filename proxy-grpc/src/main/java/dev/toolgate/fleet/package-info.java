/**
 * Fleet state on etcd: the {@link dev.toolgate.fleet.EtcdTaskStore} that every sidecar of a fleet shares
 * ({@code tasks.store: etcd}), and {@link dev.toolgate.fleet.FleetTaskStores}, which hands it to the composition
 * root. The etcd client is grpc-java over the project's Netty, with stubs generated from etcd's own API protos
 * ({@code src/main/proto/etcd}, package {@code dev.toolgate.fleet.etcd.api}); the stored values are
 * {@code toolgate.fleet.v1} messages ({@code src/main/proto/toolgate/fleet/v1/stored.proto}). Package-private:
 * the client and its endpoint resolver ({@code EtcdClient}, {@code EtcdEndpoints}), the key layout
 * ({@code EtcdKeys}) and the watch ({@code EtcdFeed}).
 */
package dev.toolgate.fleet;
