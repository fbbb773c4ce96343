/**
 * Tasks and their grants: task tokens ({@link dev.toolgate.grant.TaskToken}, only their SHA-256 is kept),
 * the {@link dev.toolgate.grant.TaskRegistry} (start, delegate, end, revoke, and the lock-free
 * lookup every call makes through a Caffeine cache), and the {@link dev.toolgate.grant.TaskStore} behind it: memory
 * or the append-only {@link dev.toolgate.grant.JournalTaskStore}. No Netty types.
 */
package dev.toolgate.grant;
