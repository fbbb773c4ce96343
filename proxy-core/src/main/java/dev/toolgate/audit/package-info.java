/**
 * The audit trail: decision and outcome records, their SHA-256 hash chain, the writer that never drops a record,
 * and the verifier that finds the first break in a chain.
 *
 * <p>The data plane hands a record to {@link dev.toolgate.audit.AuditTrail#offer(AuditRecord,
 * java.util.concurrent.Executor, AuditTrail.Durable)} and forwards nothing until the writer says the record is in
 * the file; the trail's single writer thread ({@code AuditWriter}) chains, encodes and writes records in order,
 * group-committed, and wakes each waiting event loop once per batch. {@link dev.toolgate.audit.AuditFsync} says what
 * a power loss may take. At start-up a
 * torn last line left by a crash is moved aside to a side file named in a {@code torn_tail} record, and the chain
 * continues.
 */
package dev.toolgate.audit;
