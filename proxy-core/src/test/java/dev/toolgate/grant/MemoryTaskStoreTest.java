package dev.toolgate.grant;

import java.nio.file.Path;

/** The memory store keeps nothing across a reopen, and otherwise passes the whole contract. */
class MemoryTaskStoreTest extends TaskStoreContract {
    @Override
    protected TaskStore open(Path dir) {
        return new MemoryTaskStore();
    }

    @Override
    protected boolean durable() {
        return false;
    }
}
