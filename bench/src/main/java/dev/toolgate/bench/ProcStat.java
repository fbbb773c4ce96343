package dev.toolgate.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** CPU time and peak RSS of processes from Linux {@code /proc}. Stateless. */
final class ProcStat {
    /** USER_HZ: the unit of utime and stime; 100 on every Linux x86-64 kernel. */
    private static final double TICKS_PER_SECOND = Double.parseDouble(System.getProperty("bench.clkTck", "100"));

    private ProcStat() {}

    /** User plus system CPU seconds of all {@code pids} (all their threads), or -1 when one cannot be read. */
    static double cpuSeconds(List<Integer> pids) {
        double total = 0;
        for (int pid : pids) {
            try {
                String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
                // the command name in parentheses may hold spaces: count fields after the last ')'
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
                total += (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND;
            } catch (IOException | RuntimeException e) {
                return -1;
            }
        }
        return total;
    }

    /** Sum of VmHWM (peak resident set) of {@code pids} in KiB, or -1 when one cannot be read. */
    static long peakRssKib(List<Integer> pids) {
        long total = 0;
        for (int pid : pids) {
            try {
                long v = -1;
                for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
                    if (line.startsWith("VmHWM:")) {
                        v = Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
                    }
                }
                if (v < 0) {
                    return -1;
                }
                total += v;
            } catch (IOException | RuntimeException e) {
                return -1;
            }
        }
        return total;
    }
}
