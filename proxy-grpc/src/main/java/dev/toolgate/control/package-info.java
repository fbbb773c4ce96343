/**
 * The control API of the sidecar (DESIGN.md "Control API"): gRPC over mTLS on port 15010 with {@code TaskService},
 * {@code AuditService}, health and reflection. {@link dev.toolgate.control.ControlServer} is the way in; the
 * services are thin adapters over the same {@link dev.toolgate.grant.TaskRegistry} and
 * {@link dev.toolgate.audit.AuditTrail} the data plane uses, so a task ended here is denied on the next data-plane
 * call and every record the data plane writes reaches the tail.
 *
 * <p>The caller of every RPC is the SPIFFE ID of its client certificate, verified during the handshake by the
 * sidecar's {@link dev.toolgate.identity.TlsMaterial} exactly as on the data plane.
 */
package dev.toolgate.control;
