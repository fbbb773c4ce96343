/**
 * Approvals of calls whose policy rule says {@code approval: required}: {@link dev.toolgate.approval.Approvals}
 * registers what a call asks for (its intent), lets an authorized person decide, and tells the
 * {@link dev.toolgate.authz.Authorizer} whether the same operation may pass. Pure: no sockets, no Netty types; time
 * is injected.
 */
package dev.toolgate.approval;
