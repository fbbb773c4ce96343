/**
 * The audit trail: decision and outcome records, their SHA-256 hash chain, the writer that never drops a record,
 * and the verifier that finds the first break in a chain.
 *
 * <p>The data plane hands a record to {@link dev.toolgate.audit.AuditTrail#offer} and forwards nothing until the
 * record was accepted; the trail's single writer thread chains, encodes and writes records in order. At start-up a
 * torn last line left by a crash is moved aside to a side file named in a {@code torn_tail} record, and the chain
 * continues.
 */
package dev.toolgate.audit;
