package dev.toolgate.config;

import dev.toolgate.identity.SpiffeIdPattern;
import java.util.List;

/**
 * Who may do what: the {@code access:} section of the sidecar file, every SPIFFE ID allow-list of the sidecar in one
 * place. Each entry is a {@link SpiffeIdPattern} ({@code spiffe://td/agents/*}, {@code spiffe://td/ops/**}).
 *
 * <p>An empty list means "anyone verified" for the two gates every caller passes ({@code agents}, {@code control}),
 * and "nobody" for the privileges on top of them ({@code orchestrators}, {@code admins}, {@code approvers},
 * {@code auditors}, {@code extAuthz}): a privilege is never granted by omission.
 *
 * <p>Immutable and thread-safe; the compact constructor throws {@link IllegalArgumentException} naming the bad
 * pattern and its key.
 *
 * @param agents        who may call through the agent-facing listener; empty: any ID that verifies against the trust
 *                      bundles (JWT-SVID subjects included)
 * @param control       who may call the control API (gRPC) at all; empty: any ID that verifies. Task RPCs then follow
 *                      {@code orchestrators} and {@code admins}, like the JSON task endpoints
 * @param orchestrators who may start tasks for other agents; empty: nobody (every agent starts tasks for itself)
 * @param admins        who may see, end and revoke any task, and tail the audit trail; empty: nobody
 * @param approvers     who may list and decide pending approvals ({@code ApprovalService}); empty: nobody (calls that
 *                      need approval wait and expire). An agent never decides its own request, even when it matches
 * @param auditors      who may tail the audit trail besides {@code admins} (a log shipper, an SRE console); empty:
 *                      nobody else
 * @param extAuthz      who may call Envoy's {@code envoy.service.auth.v3.Authorization/Check} on the control port (the
 *                      Envoy proxy's own identity); empty: nobody (ext_authz is off)
 */
public record AccessConfig(List<String> agents, List<String> control, List<String> orchestrators,
                           List<String> admins, List<String> approvers, List<String> auditors,
                           List<String> extAuthz) {

    public AccessConfig {
        agents = checked("agents", agents);
        control = checked("control", control);
        orchestrators = checked("orchestrators", orchestrators);
        admins = checked("admins", admins);
        approvers = checked("approvers", approvers);
        auditors = checked("auditors", auditors);
        extAuthz = checked("extAuthz", extAuthz);
    }

    /** No list set: any verified ID may call the listener and the control API; nobody holds a privilege. */
    public static AccessConfig defaults() {
        return new AccessConfig(null, null, null, null, null, null, null);
    }

    /** The same lists with other {@code agents}. */
    public AccessConfig withAgents(List<String> v) {
        return new AccessConfig(v, control, orchestrators, admins, approvers, auditors, extAuthz);
    }

    /** The same lists with another {@code control}. */
    public AccessConfig withControl(List<String> v) {
        return new AccessConfig(agents, v, orchestrators, admins, approvers, auditors, extAuthz);
    }

    /** The same lists with other {@code orchestrators}. */
    public AccessConfig withOrchestrators(List<String> v) {
        return new AccessConfig(agents, control, v, admins, approvers, auditors, extAuthz);
    }

    /** The same lists with other {@code admins}. */
    public AccessConfig withAdmins(List<String> v) {
        return new AccessConfig(agents, control, orchestrators, v, approvers, auditors, extAuthz);
    }

    /** The same lists with other {@code approvers}. */
    public AccessConfig withApprovers(List<String> v) {
        return new AccessConfig(agents, control, orchestrators, admins, v, auditors, extAuthz);
    }

    /** The same lists with other {@code auditors}. */
    public AccessConfig withAuditors(List<String> v) {
        return new AccessConfig(agents, control, orchestrators, admins, approvers, v, extAuthz);
    }

    /** The same lists with another {@code extAuthz}. */
    public AccessConfig withExtAuthz(List<String> v) {
        return new AccessConfig(agents, control, orchestrators, admins, approvers, auditors, v);
    }

    /** The parsed {@link #agents}. */
    public List<SpiffeIdPattern> agentPatterns() {
        return parsed(agents);
    }

    /** The parsed {@link #control}. */
    public List<SpiffeIdPattern> controlPatterns() {
        return parsed(control);
    }

    /** The parsed {@link #orchestrators}. */
    public List<SpiffeIdPattern> orchestratorPatterns() {
        return parsed(orchestrators);
    }

    /** The parsed {@link #admins}. */
    public List<SpiffeIdPattern> adminPatterns() {
        return parsed(admins);
    }

    /** The parsed {@link #approvers}. */
    public List<SpiffeIdPattern> approverPatterns() {
        return parsed(approvers);
    }

    /** The parsed {@link #auditors}. */
    public List<SpiffeIdPattern> auditorPatterns() {
        return parsed(auditors);
    }

    /** The parsed {@link #extAuthz}. */
    public List<SpiffeIdPattern> extAuthzPatterns() {
        return parsed(extAuthz);
    }

    private static List<String> checked(String key, List<String> patterns) {
        List<String> copy = patterns == null ? List.of() : List.copyOf(patterns);
        for (String p : copy) {
            try {
                SpiffeIdPattern.parse(p);
            } catch (IllegalArgumentException e) {
                // Not chained: loaders report the innermost cause, and this message is the one that names the key.
                throw new IllegalArgumentException(key + ": " + e.getMessage());
            }
        }
        return copy;
    }

    private static List<SpiffeIdPattern> parsed(List<String> patterns) {
        return patterns.stream().map(SpiffeIdPattern::parse).toList();
    }
}
