package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

/**
 * The control API listener (gRPC over mTLS: TaskService, AuditService, ApprovalService, ext_authz, health,
 * reflection).
 *
 * <p>Who may do what is {@link AccessConfig}: every caller must present an X.509-SVID that verifies against the
 * trust bundles and match {@code access.control} (when not empty). Task RPCs are then authorized by the task
 * registry with the same rules as the data plane's JSON endpoints ({@code access.orchestrators} may start tasks for
 * other agents, {@code access.admins} may see, end and revoke any task, everyone else only its own). The audit tail
 * is for {@code access.admins} and {@code access.auditors}, approvals for {@code access.approvers}, ext_authz for
 * {@code access.extAuthz}.
 *
 * @param address    the address to bind; loopback by default (set another address deliberately, e.g. for an
 *                   orchestrator in another pod)
 * @param port       the TCP port; {@code 0} picks a free one (tests)
 * @param tailBuffer records each tail subscriber may have waiting; past it, records are skipped for that subscriber
 *                   only and it is told how many
 */
public record ControlConfig(String address, Integer port, Integer tailBuffer) {
    public static final int DEFAULT_PORT = 15010;

    public ControlConfig {
        address = requireNonNullElse(address, "127.0.0.1");
        port = requireNonNullElse(port, DEFAULT_PORT);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        tailBuffer = requireNonNullElse(tailBuffer, 1024);
        if (tailBuffer < 1 || tailBuffer > 1_000_000) {
            throw new IllegalArgumentException("tailBuffer: " + tailBuffer + " (expected: 1..1000000)");
        }
    }

    public static ControlConfig defaults() {
        return new ControlConfig(null, null, null);
    }
}
