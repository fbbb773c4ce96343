package dev.toolgate.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import org.junit.jupiter.api.Test;

/** Guards the guard: without these settings a leak would pass the build silently. */
class LeakCheckInstalledTest {
    @Test
    void paranoidRecordingDetectorIsInstalled() {
        assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
        assertThat(ResourceLeakDetectorFactory.instance().newResourceLeakDetector(ByteBuf.class))
                .isInstanceOf(RecordingLeakDetector.class);
    }
}
