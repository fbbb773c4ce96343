package dev.toolgate.grant;

import java.nio.file.Path;

/**
 * The process a crash test kills: opens a journal, appends the fixture events, printing {@code appended <rev>}
 * after each append returned, then sleeps until killed. Arguments: the journal file, the fsync policy and the
 * number of events, or -1 to append until killed.
 */
final class JournalCrashChild {
    private JournalCrashChild() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        JournalTaskStore.FsyncPolicy fsync = JournalTaskStore.FsyncPolicy.valueOf(args[1]);
        int count = Integer.parseInt(args[2]);
        // Never closed: the test kills this process with SIGKILL, and a clean close must not be what saves it.
        JournalTaskStore store = JournalTaskStore.open(file, fsync);
        for (int i = 0; count < 0 || i < count; i++) {
            long rev = store.append(JournalFixtures.event(i));
            System.out.println("appended " + rev);
            System.out.flush();
        }
        Thread.sleep(Long.MAX_VALUE); // not a wait: the child idles until the test kills it
    }
}
