package dev.toolgate.control;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.toolgate.audit.AuditTrail;
import dev.toolgate.config.ControlConfig;
import dev.toolgate.proxy.ProxyServer;
import dev.toolgate.testing.MemoryAuditSink;
import dev.toolgate.testing.Sidecar;
import dev.toolgate.testing.TestPki;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A taken control port is named in the error with the address: {@code control port 127.0.0.1:15010: ...}. */
class ControlBindFailureTest {
    @TempDir
    Path dir;

    @Test
    void aTakenControlPortIsNamed() throws Exception {
        TestPki pki = TestPki.create(dir);
        AuditTrail trail = AuditTrail.start(new MemoryAuditSink(), null, 100);
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
             ProxyServer plane = Sidecar.builder(pki, Sidecar.config(List.of())
                     .withControl(new ControlConfig("127.0.0.1", taken.getLocalPort(), null))).audit(trail).build()) {
            assertThatThrownBy(() -> ControlServer.start(plane))
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("control port 127.0.0.1:" + taken.getLocalPort()
                            + ": address already in use");
        } finally {
            trail.close();
        }
    }
}
