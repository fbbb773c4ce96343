package dev.toolgate.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A write the OS cuts short (it takes part of the bytes, then fails, as a full disk does) never leaves a partial
 * record in the file. The fake is of the OS (a {@link FileChannel} over the real file that fails on demand), not of
 * our code.
 */
class FileAuditSinkFaultTest {
    @TempDir
    Path dir;

    /** A real file channel that, while armed, writes half of what it is given and then fails. */
    static final class FailingChannel extends FileChannel {
        private final FileChannel real;
        int failWrites;
        int failTruncates;
        int failures;

        FailingChannel(Path file) throws IOException {
            this.real = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.READ);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            if (failWrites > 0) {
                failWrites--;
                failures++;
                ByteBuffer part = src.duplicate();
                part.limit(part.position() + Math.max(1, part.remaining() / 2));
                int n = real.write(part, position);
                src.position(src.position() + n);
                throw new IOException("No space left on device");
            }
            return real.write(src, position);
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            if (failTruncates > 0) {
                failTruncates--;
                throw new IOException("Input/output error");
            }
            real.truncate(size);
            return this;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return real.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return real.read(dsts, offset, length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            throw new IOException("the sink writes at positions only");
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            throw new IOException("the sink writes at positions only");
        }

        @Override
        public long position() throws IOException {
            return real.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            real.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return real.size();
        }

        @Override
        public void force(boolean metaData) throws IOException {
            real.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return real.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            return real.transferFrom(src, position, count);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return real.read(dst, position);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return real.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return real.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return real.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            real.close();
        }
    }

    private final AuditCodec codec = new AuditCodec();
    private String head = AuditCodec.GENESIS;

    private String line(int i) {
        String line = codec.encode(AuditRecord.decision(Instant.parse("2026-11-28T10:00:00Z").plusSeconds(i),
                "d" + i, null, null, "spiffe://toolgate.test/agents/a", "weather", "http", "GET /x/" + i, "allow",
                "ALLOW", "route matched", "enforce", 12), head);
        head = codec.lastHash();
        return line;
    }

    private static void assertWholeRecords(Path file, int count) throws IOException {
        AuditVerifier.Result r = AuditVerifier.verifyFromGenesis(List.of(file));
        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(r.records()).isEqualTo(count);
        assertThat(Files.readAllLines(file)).hasSize(count);
    }

    @Test
    void aFlushCutShortIsCutBackToTheLastWholeRecordAndWrittenWholeByTheNextFlush() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        List<FailingChannel> channels = new ArrayList<>();
        FileAuditSink sink = FileAuditSink.open(file, p -> {
            FailingChannel c = new FailingChannel(p);
            channels.add(c);
            return c;
        });
        sink.write(line(0));
        sink.write(line(1));
        sink.flush();
        long whole = Files.size(file);

        channels.get(0).failWrites = 1;
        sink.write(line(2));
        sink.write(line(3));
        assertThatThrownBy(sink::flush).hasMessageContaining("No space left");

        assertThat(channels.get(0).failures).isEqualTo(1);
        assertThat(Files.size(file)).isEqualTo(whole); // the half-written batch is gone
        assertWholeRecords(file, 2);

        sink.write(line(4));
        sink.flush(); // the disk has room again
        sink.close();
        assertWholeRecords(file, 5);
    }

    @Test
    void whenTheCutFailsTooItIsMadeBeforeTheNextWrite() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        FailingChannel[] channel = new FailingChannel[1];
        FileAuditSink sink = FileAuditSink.open(file, p -> channel[0] = new FailingChannel(p));
        sink.write(line(0));
        sink.flush();
        channel[0].failWrites = 1;
        channel[0].failTruncates = 1;
        sink.write(line(1));
        IOException failed = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, sink::flush);
        assertThat(failed.getSuppressed()).extracting(Throwable::getMessage).containsExactly("Input/output error");
        assertThat(AuditVerifier.verifyFromGenesis(List.of(file)).tornTail()).isTrue(); // the partial is still there

        sink.flush();
        sink.close();
        assertWholeRecords(file, 2);
    }

    @Test
    void aLineWhoseWriteFailedIsTakenOnceWhenTheWriterRetriesIt() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        FailingChannel[] channel = new FailingChannel[1];
        FileAuditSink sink = FileAuditSink.open(file, p -> channel[0] = new FailingChannel(p));
        int n = 0;
        while (Files.size(file) == 0) { // lines gather until 64 KiB wait, then a write drains them
            sink.write(line(n++));
        }
        channel[0].failWrites = 1;
        for (int i = 0; i < 1000 && channel[0].failures == 0; i++) {
            String next = line(n++);
            try {
                sink.write(next);
            } catch (IOException e) {
                assertWholeRecords(file, Files.readAllLines(file).size());
                sink.write(next); // what AuditTrail does: the same line again
            }
        }
        assertThat(channel[0].failures).isEqualTo(1);
        sink.close();
        assertWholeRecords(file, n);
    }
}
