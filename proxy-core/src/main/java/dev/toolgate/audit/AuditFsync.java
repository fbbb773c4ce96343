package dev.toolgate.audit;

import java.util.Locale;

/**
 * What a power loss (or a kernel crash) may take from the audit file ({@code audit.fsync}). Every value keeps the
 * promise that matters for a process crash: a call is forwarded only once its decision record was written to the
 * file (the write returned), which survives {@code kill -9} and an OOM kill.
 */
public enum AuditFsync {
    /**
     * The default: the file is synced to its device at most {@code audit.fsyncInterval} after a record was written
     * (and at rotation and shutdown), by a thread of its own, so a slow sync never holds the writer back. A power
     * loss may take the records of about that last interval.
     */
    INTERVAL,
    /**
     * Every batch is synced before any of its calls is forwarded: a power loss takes nothing that was forwarded,
     * at the price of one {@code fdatasync} per batch on the path of every call.
     */
    BATCH,
    /** Never synced by the sidecar (the kernel writes back, typically within 30 s); for tests and tmpfs. */
    NEVER;

    /** The policy named {@code name} ({@code interval}, {@code batch}, {@code never}). */
    public static AuditFsync parse(String name) {
        for (AuditFsync f : values()) {
            if (f.json().equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("fsync: \"" + name + "\" (expected: interval, batch or never)");
    }

    /** The name in the configuration. */
    public String json() {
        return name().toLowerCase(Locale.ROOT);
    }
}
