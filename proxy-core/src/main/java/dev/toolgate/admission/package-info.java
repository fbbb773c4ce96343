/**
 * The one place a request is judged: {@link dev.toolgate.admission.Admission} takes what any front end can say
 * about a request (method, raw target, headers, the proven caller and, where the protocol needs it, the body) and
 * answers {@link dev.toolgate.admission.Step.Admitted} or {@link dev.toolgate.admission.Step.Refused} with the
 * decision code, the reason and the {@link dev.toolgate.admission.Intent} its decision record is written from.
 * Path normalisation, the single task token, route matching, MCP parsing, MCP session binding, the authorizer's
 * decision and giving back what an admitted but unforwarded call took all live here.
 *
 * <p>The data plane ({@code dev.toolgate.proxy}) and Envoy's ext_authz ({@code dev.toolgate.control}) are its
 * clients: they translate their request into an {@link dev.toolgate.admission.AdmissionRequest} and the step
 * into their own answer, and decide nothing themselves. No Netty or gRPC types here.
 */
package dev.toolgate.admission;
