package dev.toolgate.grant;

import java.io.IOException;
import java.nio.file.Path;

/** The journal passes the store contract with fsync on every append (the default a configuration uses). */
class JournalTaskStoreContractTest extends TaskStoreContract {
    @Override
    protected TaskStore open(Path dir) throws IOException {
        return JournalTaskStore.open(dir.resolve("tasks.journal"), JournalTaskStore.FsyncPolicy.ALWAYS);
    }

    @Override
    protected boolean durable() {
        return true;
    }
}
