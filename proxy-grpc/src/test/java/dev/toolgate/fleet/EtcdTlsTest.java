package dev.toolgate.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.config.EtcdConfig;
import dev.toolgate.grant.Task;
import dev.toolgate.grant.TaskEvent;
import dev.toolgate.grant.TaskState;
import dev.toolgate.grant.TaskStore;
import dev.toolgate.grant.TaskToken;
import dev.toolgate.identity.SpiffeId;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The store over mutual TLS to etcd members that require a client certificate ({@code etcd.tls} with PEM files):
 * with the sidecar's certificate it records and reloads; without one, or trusting another CA, nothing is read or
 * written and the error names the cluster.
 */
class EtcdTlsTest {
    @RegisterExtension
    static final EtcdExtension ETCD = new EtcdExtension(1, true);
    private static final SpiffeId AGENT = SpiffeId.parse("spiffe://toolgate.test/agents/researcher");

    private EtcdConfig config(EtcdConfig.Tls tls) {
        return new EtcdConfig(ETCD.cluster().endpoints(), tls, ETCD.prefix(), Duration.ofMillis(500),
                Duration.ofSeconds(2));
    }

    private static TaskEvent.Started started() {
        Instant now = Instant.now();
        return new TaskEvent.Started(now, new Task("t-tls", AGENT, AGENT, "over mTLS", null, 0, List.of(), now,
                now.plus(Duration.ofMinutes(5)), TaskToken.hash("tg1." + "A".repeat(43))));
    }

    @Test
    void withTheSidecarsCertificateTheStoreRecordsAndReloads() throws Exception {
        EtcdConfig config = config(ETCD.clientTls());
        assertThat(config.endpoints()).allSatisfy(e -> assertThat(e).startsWith("https://"));
        try (TaskStore store = EtcdTaskStore.open(config)) {
            assertThat(store.load().events()).isEmpty();
            assertThat(store.append(started())).isEqualTo(1);
            assertThat(store.append(new TaskEvent.Ended(Instant.now(), "t-tls", TaskState.ENDED, AGENT.uri(), "")))
                    .isEqualTo(2);
        }
        try (TaskStore again = EtcdTaskStore.open(config)) {
            TaskStore.Snapshot s = again.load();
            assertThat(s.revision()).isEqualTo(2);
            assertThat(s.events()).extracting(TaskEvent::taskId).containsExactly("t-tls", "t-tls");
        }
    }

    @Test
    void withoutAClientCertificateNothingIsReadOrWritten() throws Exception {
        try (TaskStore store = EtcdTaskStore.open(config(ETCD.clientTlsWithoutCertificate()))) {
            assertThatThrownBy(store::load).isInstanceOf(IOException.class)
                    .hasMessageContaining("etcd " + ETCD.cluster().endpoint(0) + ": loading the task log under")
                    .hasMessageContaining("UNAVAILABLE");
            assertThat(store.healthy()).isFalse();
        }
    }
}
