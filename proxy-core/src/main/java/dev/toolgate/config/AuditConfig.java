package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The audit trail.
 *
 * @param file    JSON-lines file the hash-chained records are appended to (the chain continues across restarts)
 * @param queue   records that may wait for the writer; when full, calls wait (back-pressure)
 * @param maxWait how long a call waits for its record to be accepted before it is denied (fail closed)
 * @param maxFileBytes the file is rotated (renamed with a UTC time stamp) before it grows past this size
 * @param stdout  also write every record to standard output (the container log)
 * @param fsync   what a power loss may take: {@code interval} (the default: records of the last
 *                {@code fsyncInterval}), {@code batch} (nothing forwarded: every batch is synced before its calls go
 *                on) or {@code never} (left to the kernel). A process crash ({@code kill -9}) takes nothing forwarded
 *                with any value: a call is forwarded only once its decision record's write returned.
 * @param fsyncInterval with {@code fsync: interval}, how long a written record may stay unsynced
 * @param maxFiles rotated files kept beside the current one, the oldest deleted first ({@code 0}, the default: no
 *                limit)
 * @param maxTotalBytes the rotated files and the current one together at most this, the oldest rotated files deleted
 *                first ({@code 0}, the default: no limit); see {@code dev.toolgate.audit.AuditRetention}
 */
public record AuditConfig(Path file, Integer queue, Duration maxWait, Long maxFileBytes, Boolean stdout,
                          String fsync, Duration fsyncInterval, Integer maxFiles, Long maxTotalBytes) {
    public AuditConfig {
        file = requireNonNullElse(file, Path.of(".toolgate", "audit", "audit.jsonl"));
        queue = requireNonNullElse(queue, 65_536);
        maxWait = requireNonNullElse(maxWait, Duration.ofSeconds(2));
        maxFileBytes = requireNonNullElse(maxFileBytes, 100L * 1024 * 1024);
        stdout = requireNonNullElse(stdout, false);
        fsync = requireNonNullElse(fsync, "interval");
        fsyncInterval = requireNonNullElse(fsyncInterval, Duration.ofSeconds(1));
        if (!fsync.equals("interval") && !fsync.equals("batch") && !fsync.equals("never")) {
            throw new IllegalArgumentException("fsync: \"" + fsync + "\" (expected: interval, batch or never)");
        }
        if (fsyncInterval.isNegative() || fsyncInterval.isZero()) {
            throw new IllegalArgumentException("fsyncInterval: " + fsyncInterval + " (expected: > 0)");
        }
        maxFiles = requireNonNullElse(maxFiles, 0);
        maxTotalBytes = requireNonNullElse(maxTotalBytes, 0L);
        if (maxFiles < 0) {
            throw new IllegalArgumentException("maxFiles: " + maxFiles + " (expected: >= 0, 0 for no limit)");
        }
        if (maxTotalBytes < 0 || maxTotalBytes > 0 && maxTotalBytes < 2 * maxFileBytes) {
            throw new IllegalArgumentException("maxTotalBytes: " + maxTotalBytes + " (expected: 0 for no limit, or"
                    + " at least twice maxFileBytes " + maxFileBytes + ": the current file and one rotated file)");
        }
        if (maxFileBytes < 1024) {
            throw new IllegalArgumentException("maxFileBytes: " + maxFileBytes + " (expected: >= 1024)");
        }
        if (queue < 1) {
            throw new IllegalArgumentException("queue: " + queue + " (expected: > 0)");
        }
        if (maxWait.isNegative() || maxWait.isZero()) {
            throw new IllegalArgumentException("maxWait: " + maxWait + " (expected: > 0)");
        }
    }

    /** With the default durability ({@code fsync: interval}, every second) and no retention limits. */
    public AuditConfig(Path file, Integer queue, Duration maxWait, Long maxFileBytes, Boolean stdout) {
        this(file, queue, maxWait, maxFileBytes, stdout, null, null, null, null);
    }

    public static AuditConfig defaults() {
        return new AuditConfig(null, null, null, null, null);
    }

    AuditConfig resolve(Path base) {
        return new AuditConfig(base.resolve(file), queue, maxWait, maxFileBytes, stdout, fsync, fsyncInterval,
                maxFiles, maxTotalBytes);
    }
}
