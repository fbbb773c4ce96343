package dev.toolgate.proxy;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.AdminConfig;
import dev.toolgate.config.ListenerConfig;
import dev.toolgate.config.SidecarConfig;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A port that is taken is named in the startup error, with the listener it was for, so an operator knows which of
 * the sidecar's ports to change: {@code listener 127.0.0.1:15001: address already in use}.
 */
class BindFailureTest {
    @TempDir
    Path dir;
    ServerSocket taken;
    AuditTrail trail;

    @BeforeEach
    void takeAPort() throws Exception {
        taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        trail = AuditTrail.start(new MemoryAuditSink(), null, 100);
    }

    @AfterEach
    void release() throws Exception {
        taken.close();
        trail.close();
    }

    @Test
    void aTakenAgentListenerPortIsNamed() throws Exception {
        TestPki pki = TestPki.create(dir);
        SidecarConfig config = Sidecar.config(List.of())
                .withListener(new ListenerConfig("127.0.0.1", taken.getLocalPort()));
        assertThatThrownBy(() -> Sidecar.builder(pki, config).audit(trail).build())
                .isInstanceOf(StartupException.class)
                .hasMessageStartingWith("listener 127.0.0.1:" + taken.getLocalPort() + ": address already in use");
    }

    @Test
    void aTakenAdminPortIsNamed() throws Exception {
        TestPki pki = TestPki.create(dir);
        SidecarConfig config = Sidecar.config(List.of())
                .withAdmin(new AdminConfig("127.0.0.1", taken.getLocalPort()));
        assertThatThrownBy(() -> Sidecar.builder(pki, config).audit(trail).build())
                .isInstanceOf(StartupException.class)
                .hasMessageStartingWith("admin port 127.0.0.1:" + taken.getLocalPort() + ": address already in use");
    }
}
