/**
 * Tasks and their grants: task tokens ({@link dev.toolgate.grant.TaskToken}, only their SHA-256 is kept) and the
 * {@link dev.toolgate.grant.TaskRegistry}, the public entry (start, delegate, end, revoke, revoke a grant, and the
 * lock-free lookup every call makes). Behind it, package-private: the index of tasks by id and token hash with its
 * Caffeine cache ({@code TaskIndex}), the checks of what may be granted ({@code GrantChecks}, {@code Delegation}) and
 * of who may manage which task ({@code TaskAccess}).
 *
 * <p>The source of truth is a {@link dev.toolgate.grant.TaskStore}: {@link dev.toolgate.grant.MemoryTaskStore}
 * (keeps nothing) or the append-only {@link dev.toolgate.grant.JournalTaskStore}; a shared store for fleets plugs in
 * behind the same interface. Operation patterns come from {@code dev.toolgate.operation}, policy from
 * {@code dev.toolgate.policy} (which never depends on this package). No Netty types.
 */
package dev.toolgate.grant;
