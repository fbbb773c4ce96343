package dev.toolgate.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarizes a JFR recording's stack samples: {@code jdk.ExecutionSample} (threads running Java code) and
 * {@code jdk.NativeMethodSample} (threads inside a native method: syscalls, BoringSSL), each as the methods most
 * often on top of the stack (self) and anywhere on it (total), by share of samples. Stateless.
 */
final class JfrTop {
    private static final String JAVA = "jdk.ExecutionSample";
    private static final String NATIVE = "jdk.NativeMethodSample";

    private JfrTop() {}

    static void print(Path recording, int top, PrintStream out) throws IOException {
        Counts java = new Counts();
        Counts nat = new Counts();
        for (RecordedEvent e : RecordingFile.readAllEvents(recording)) {
            String type = e.getEventType().getName();
            if (type.equals(JAVA)) {
                java.add(e.getStackTrace());
            } else if (type.equals(NATIVE) && e.getThread("sampledThread") != null
                    && !isIdleWait(e.getStackTrace())) {
                nat.add(e.getStackTrace());
            }
        }
        out.printf(Locale.ROOT, "%d Java samples (%s), %d native samples (%s, idle epoll waits left out)%n%n",
                java.samples, JAVA, nat.samples, NATIVE);
        java.print(out, "Java, self (top of stack)", top, false);
        java.print(out, "Java, total (anywhere on the stack)", top, true);
        nat.print(out, "native, self (the native method)", Math.min(top, 10), false);
        nat.print(out, "native, total", Math.min(top, 15), true);
    }

    /** An event loop blocked in epoll_wait with nothing to do is not a cost. */
    private static boolean isIdleWait(RecordedStackTrace st) {
        return st != null && !st.getFrames().isEmpty() && name(st.getFrames().get(0)).contains("epollWait");
    }

    private static String name(RecordedFrame f) {
        return f.getMethod().getType().getName() + "." + f.getMethod().getName();
    }

    /** Sample counts by method. */
    private static final class Counts {
        final Map<String, Integer> self = new HashMap<>();
        final Map<String, Integer> total = new HashMap<>();
        int samples;

        void add(RecordedStackTrace st) {
            if (st == null || st.getFrames().isEmpty()) {
                return;
            }
            samples++;
            List<RecordedFrame> frames = st.getFrames();
            self.merge(name(frames.get(0)), 1, Integer::sum);
            frames.stream().map(JfrTop::name).distinct().forEach(n -> total.merge(n, 1, Integer::sum));
        }

        void print(PrintStream out, String title, int top, boolean totals) {
            out.println(title + ":");
            (totals ? total : self).entrySet().stream()
                    .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                    .limit(top)
                    .forEach(e -> out.printf(Locale.ROOT, "%6.1f%%  %s%n", 100.0 * e.getValue() / Math.max(samples, 1),
                            e.getKey()));
            out.println();
        }
    }
}
