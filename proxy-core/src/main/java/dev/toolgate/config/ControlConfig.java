package dev.toolgate.config;

import static java.util.Objects.requireNonNullElse;

import dev.toolgate.identity.SpiffeIdPattern;
import java.util.List;

/**
 * The control API listener (gRPC over mTLS: TaskService, AuditService, ApprovalService, health, reflection).
 *
 * <p>Who may do what: every caller must present an X.509-SVID that verifies against the trust bundles and, when
 * {@code allowedIds} is not empty, match one of its patterns. Task RPCs are then authorized by the task registry
 * with the same rules as the data plane's JSON endpoints ({@code tasks.orchestrators} may start tasks for other
 * agents, {@code tasks.admins} may see, end and revoke any task, everyone else only its own). The audit tail is
 * for {@code tasks.admins} and {@code auditors} only.
 *
 * @param address    the address to bind; loopback by default (set another address deliberately, e.g. for an
 *                   orchestrator in another pod)
 * @param port       the TCP port; {@code 0} picks a free one (tests)
 * @param allowedIds SPIFFE ID patterns a caller must match; empty: any ID that verifies against the trust bundles
 * @param auditors   SPIFFE ID patterns that may tail the audit trail without being task admins (a log shipper,
 *                   an SRE console)
 * @param tailBuffer records each tail subscriber may have waiting; past it, records are skipped for that subscriber
 *                   only and it is told how many
 * @param extAuthzClients SPIFFE ID patterns that may call Envoy's {@code envoy.service.auth.v3.Authorization/Check}
 *                   (the Envoy proxy's own identity); empty: nobody may (ext_authz is off)
 * @param approvers  SPIFFE ID patterns that may list and decide pending approvals ({@code ApprovalService}); empty:
 *                   nobody may (calls that need approval stay pending until they expire). An agent never approves
 *                   its own request, even when it matches
 */
public record ControlConfig(String address, Integer port, List<String> allowedIds, List<String> auditors,
                            Integer tailBuffer, List<String> extAuthzClients, List<String> approvers) {
    public static final int DEFAULT_PORT = 15010;

    public ControlConfig {
        address = requireNonNullElse(address, "127.0.0.1");
        port = requireNonNullElse(port, DEFAULT_PORT);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
        allowedIds = allowedIds == null ? List.of() : List.copyOf(allowedIds);
        auditors = auditors == null ? List.of() : List.copyOf(auditors);
        allowedIds.forEach(SpiffeIdPattern::parse);
        auditors.forEach(SpiffeIdPattern::parse);
        extAuthzClients = extAuthzClients == null ? List.of() : List.copyOf(extAuthzClients);
        extAuthzClients.forEach(SpiffeIdPattern::parse);
        approvers = approvers == null ? List.of() : List.copyOf(approvers);
        approvers.forEach(SpiffeIdPattern::parse);
        tailBuffer = requireNonNullElse(tailBuffer, 1024);
        if (tailBuffer < 1 || tailBuffer > 1_000_000) {
            throw new IllegalArgumentException("tailBuffer: " + tailBuffer + " (expected: 1..1000000)");
        }
    }

    /** A control config without ext_authz clients. */
    public ControlConfig(String address, Integer port, List<String> allowedIds, List<String> auditors,
                         Integer tailBuffer) {
        this(address, port, allowedIds, auditors, tailBuffer, null, null);
    }

    /** A control config without approvers. */
    public ControlConfig(String address, Integer port, List<String> allowedIds, List<String> auditors,
                         Integer tailBuffer, List<String> extAuthzClients) {
        this(address, port, allowedIds, auditors, tailBuffer, extAuthzClients, null);
    }

    /** The same settings with other approvers. */
    public ControlConfig withApprovers(List<String> newApprovers) {
        return new ControlConfig(address, port, allowedIds, auditors, tailBuffer, extAuthzClients, newApprovers);
    }

    /** The parsed {@link #approvers}. */
    public List<SpiffeIdPattern> approverPatterns() {
        return approvers.stream().map(SpiffeIdPattern::parse).toList();
    }

    public static ControlConfig defaults() {
        return new ControlConfig(null, null, null, null, null, null, null);
    }

    /** The parsed {@link #extAuthzClients}. */
    public List<SpiffeIdPattern> extAuthzClientPatterns() {
        return extAuthzClients.stream().map(SpiffeIdPattern::parse).toList();
    }

    /** The parsed {@link #allowedIds}. */
    public List<SpiffeIdPattern> allowedIdPatterns() {
        return allowedIds.stream().map(SpiffeIdPattern::parse).toList();
    }

    /** The parsed {@link #auditors}. */
    public List<SpiffeIdPattern> auditorPatterns() {
        return auditors.stream().map(SpiffeIdPattern::parse).toList();
    }
}
