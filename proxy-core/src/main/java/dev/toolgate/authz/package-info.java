/**
 * The {@link dev.toolgate.authz.Authorizer}: identity + task + grants -> {@link dev.toolgate.authz.Decision}
 * (allow, or deny with one of the {@link dev.toolgate.common.DecisionCode}s of DESIGN.md). Pure: no sockets, no
 * Netty types, no I/O; testable with a clock moved by hand.
 */
package dev.toolgate.authz;
