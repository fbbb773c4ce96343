package dev.toolgate.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The outcome of a reload reaches every listener, even past one that throws, and refusals are counted. */
class ReloadNoticesTest {
    @Test
    void aThrowingListenerNeitherStopsTheOthersNorTheCount() {
        ReloadNotices<String, ConfigException> notices = new ReloadNotices<>(
                LoggerFactory.getLogger(ReloadNoticesTest.class), "test", "refused; keeping version {}: {}");
        List<String> heard = new ArrayList<>();
        notices.add(new ReloadNotices.Listener<>() {
            @Override
            public void reloaded(String next) {
                throw new IllegalStateException("broken listener");
            }

            @Override
            public void failed(ConfigException error) {
                throw new IllegalStateException("broken listener");
            }
        });
        notices.add(new ReloadNotices.Listener<>() {
            @Override
            public void reloaded(String next) {
                heard.add("reloaded " + next);
            }

            @Override
            public void failed(ConfigException error) {
                heard.add("failed " + error.getMessage());
            }
        });
        notices.reloaded("v2");
        notices.failed(new ConfigException("x.yaml:3: bad"), "v2");
        notices.failed(new ConfigException("x.yaml:4: bad"), "v2");
        assertThat(heard).containsExactly("reloaded v2", "failed x.yaml:3: bad", "failed x.yaml:4: bad");
        assertThat(notices.failures()).isEqualTo(2);
    }
}
